import { useState } from "preact/hooks";
import { ApiError, describe } from "./api";
import { Alert, Field } from "./fields";
import { call, type Session, signIn } from "./session";

/**
 * A new password for the signed-in user. The new password revokes every earlier token, so the
 * console signs in again with it and goes on with a new session (`done`); when the sign-in
 * asks for an MFA code, the user is sent to sign in again (`signInAgain`, with a sentence).
 * The API takes no current password (the session is the proof), so neither does this form.
 */
export function PasswordForm({
  session,
  done,
  signInAgain,
  button,
}: {
  session: Session;
  done: (session: Session) => void;
  signInAgain: (notice: string) => void;
  button: string;
}) {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<{ field?: string | undefined; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (password !== again) {
      setError({ field: "again", text: "The two passwords differ." });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call(session, "update", { user_id: session.userId, password }, () => {});
      const step = await signIn(session.domainId, session.userId, password);
      if (step.kind === "signed-in") done(step.session);
      else signInAgain("Your password was changed. Sign in with it, and the code.");
    } catch (failure) {
      const aboutPassword =
        failure instanceof ApiError &&
        (failure.key === "password" || ["ERROR_INCORRECT_PASSWORD_FORMAT", "ERROR_PASSWORD_NOT_CHANGED"].includes(failure.code));
      const field = aboutPassword ? "password" : undefined;
      setError({ field, text: describe(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit}>
      <Field
        label="New password"
        name="password"
        type="password"
        value={password}
        onInput={setPassword}
        required
        autocomplete="new-password"
        hint="8 to 128 characters, with a lowercase letter, an uppercase letter and a digit."
        error={error?.field === "password" ? error.text : undefined}
      />
      <Field
        label="New password again"
        name="again"
        type="password"
        value={again}
        onInput={setAgain}
        required
        autocomplete="new-password"
        error={error?.field === "again" ? error.text : undefined}
      />
      {error && !error.field && <Alert>{error.text}</Alert>}
      <button type="submit" disabled={busy}>
        {button}
      </button>
    </form>
  );
}

/** The forced password change (UPDATE_PASSWORD pending: the token may act only as the user itself). */
export function ChangePassword({
  session,
  done,
  signInAgain,
}: {
  session: Session;
  done: (session: Session) => void;
  signInAgain: (notice: string) => void;
}) {
  return (
    <main class="narrow">
      <h1>Choose a new password</h1>
      <p>Your password was set by an administrator or reset. Choose your own to go on.</p>
      <PasswordForm session={session} done={done} signInAgain={signInAgain} button="Change password" />
    </main>
  );
}
