import { useState } from "preact/hooks";
import { describe } from "./api";
import { type Session, signIn } from "./session";

/** Sign-in: user id and password, then the code when MFA asks for one. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (session: Session) => void; notice?: string | null }) {
  const [domainId, setDomainId] = useState("domain-local");
  const [userId, setUserId] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [codeNeeded, setCodeNeeded] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const step = await signIn(domainId.trim(), userId.trim(), password, codeNeeded ? code.trim() : undefined);
      if (step.kind === "code-needed") {
        setCodeNeeded(step.message);
      } else {
        onSignedIn(step.session);
      }
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="narrow">
      <h1>Sign in</h1>
      {notice && (
        <p class="ok" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} aria-describedby={error ? "signin-error" : undefined}>
        <label>
          Domain
          <input name="domain_id" value={domainId} onInput={(e) => setDomainId(e.currentTarget.value)} required autocomplete="organization" />
        </label>
        <label>
          User ID
          <input name="user_id" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} required autocomplete="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required autocomplete="current-password" />
        </label>
        {codeNeeded && (
          <>
            <p class="note" role="status">{codeNeeded}</p>
            <label>
              Verification code
              <input name="verify_code" value={code} onInput={(e) => setCode(e.currentTarget.value)} required inputMode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" />
            </label>
          </>
        )}
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {codeNeeded ? "Verify and sign in" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
