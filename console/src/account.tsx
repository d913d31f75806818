import { useEffect, useState } from "preact/hooks";
import { ApiError, describe } from "./api";
import { Alert, attempt, Field, Status } from "./fields";
import { Mfa } from "./mfa";
import { PasswordForm } from "./password";
import { Profile } from "./profile";
import { call, renew, type Session } from "./session";
import type { User } from "./users";

type Renewed = (session: Session) => void;

/**
 * The signed-in user's own account, whoever it is: its profile, its email (verified with a
 * mailed code), its password, its MFA. A token restricted by ENFORCE_MFA leads here with only
 * the MFA section; completing the set-up clears the requirement, and a new grant from the
 * refresh token gives the full session.
 */
export function Account({
  session,
  renewed,
  signInAgain,
}: {
  session: Session;
  renewed: Renewed;
  signInAgain: (notice: string) => void;
}) {
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    call<User>(session, "get", { user_id: session.userId }, renewed)
      .then(setMe)
      .catch((failure) => setError(describe(failure)));
  }, [session.userId]);

  if (!me) return <main>{error ? <Alert>{error}</Alert> : <p role="status">Loading…</p>}</main>;

  const mfaChanged = async (user: User) => {
    setMe(user);
    if (session.restricted && !user.required_actions.includes("ENFORCE_MFA")) {
      try {
        renewed(await renew(session));
      } catch (failure) {
        setError(describe(failure));
      }
    }
  };
  return (
    <main class="account">
      <h1>My account</h1>
      <p>
        {me.name ? `${me.name} (${me.user_id})` : me.user_id}, {me.role_type} in {me.domain_id}
      </p>
      {session.restricted && (
        <p class="note" role="status">
          An administrator requires MFA for your account. Set it up below to go on.
        </p>
      )}
      {notice && <Status>{notice}</Status>}
      {error && <Alert>{error}</Alert>}
      {!session.restricted && (
        <>
          <Profile
            session={session}
            user={me}
            renewed={renewed}
            saved={(user) => (setMe(user), setNotice("Saved."))}
            fields={["name", "language", "timezone"]}
          />
          <Email session={session} me={me} renewed={renewed} changed={setMe} />
          {me.auth_type === "LOCAL" && (
            <section aria-labelledby="password-title">
              <h2 id="password-title">Password</h2>
              <PasswordForm
                session={session}
                done={(fresh) => (renewed(fresh), setNotice("Your password was changed."))}
                signInAgain={signInAgain}
                button="Change password"
              />
            </section>
          )}
        </>
      )}
      {me.auth_type === "LOCAL" && <Mfa session={session} me={me} renewed={renewed} changed={mfaChanged} />}
    </main>
  );
}

/** The email and its verification: a code mailed to the address (new or current), then typed in. */
function Email({ session, me, renewed, changed }: { session: Session; me: User; renewed: Renewed; changed: (u: User) => void }) {
  const [email, setEmail] = useState(me.email);
  const [mailedTo, setMailedTo] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<{ key: string | undefined; text: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const run = (work: () => Promise<void>) =>
    attempt(
      () => (setError(null), setNotice(null)),
      work,
      (failure) => setError({ key: failure instanceof ApiError ? failure.key : undefined, text: describe(failure) }),
    );
  const mail = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const address = email.trim();
      await call(session, "verify-email", { user_id: me.user_id, email: address }, renewed);
      setMailedTo(address);
      setCode("");
      changed({ ...me, email: address, email_verified: false });
    });
  };
  const confirm = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      changed(await call<User>(session, "confirm-email", { user_id: me.user_id, verify_code: code.trim() }, renewed));
      setMailedTo(null);
      setNotice("Your email is verified.");
    });
  };

  return (
    <section aria-labelledby="email-title">
      <h2 id="email-title">Email</h2>
      <p>
        {me.email ? (
          <>
            {me.email}: <strong>{me.email_verified ? "verified" : "not verified"}</strong>
          </>
        ) : (
          "No email yet."
        )}
      </p>
      {notice && <Status>{notice}</Status>}
      {mailedTo ? (
        <form onSubmit={confirm}>
          <p>A code was mailed to {mailedTo}. It is valid for an hour.</p>
          <Field label="Code from the mail" name="email_code" value={code} onInput={setCode} required autocomplete="one-time-code" />
          <div class="actions">
            <button type="submit">Verify email</button>
            <button type="button" class="secondary" onClick={() => setMailedTo(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <form onSubmit={mail}>
          <Field
            label="Email address"
            name="email"
            type="email"
            value={email}
            onInput={setEmail}
            required
            autocomplete="email"
            error={error?.key === "email" ? error.text : undefined}
          />
          <button type="submit">{me.email_verified && email.trim() === me.email ? "Verify again" : "Mail me a code"}</button>
        </form>
      )}
      {error && error.key !== "email" && <Alert>{error.text}</Alert>}
    </section>
  );
}
