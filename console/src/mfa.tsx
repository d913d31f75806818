import { useState } from "preact/hooks";
import { encode } from "uqr";
import { describe } from "./api";
import { Alert, Field, Status } from "./fields";
import { call, type Session } from "./session";
import type { User } from "./users";

/** A QR code of `text` as SVG, drawn from the matrix `uqr` encodes, with a quiet zone. */
function Qr({ text, label }: { text: string; label: string }) {
  const { data, size } = encode(text);
  const quiet = 4;
  let path = "";
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }),
  );
  const side = size + 2 * quiet;
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${side} ${side}`} width="200" height="200" shape-rendering="crispEdges">
      <rect width={side} height={side} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

/**
 * MFA an administrator requires (ENFORCE_MFA pending; the token may act only as the user
 * itself): set up the required type here. OTP shows the authenticator app's QR code (and its
 * key, to type in) once; EMAIL mails a code to the address given. Once confirmed, the next
 * sign-in asks for a code and gives a full session.
 */
export function SetUpMfa({ session, me, renewed, done }: { session: Session; me: User; renewed: (s: Session) => void; done: () => void }) {
  const otp = me.mfa.mfa_type === "OTP";
  const [uri, setUri] = useState<string | null>(null);
  const [email, setEmail] = useState(me.email);
  const [mailed, setMailed] = useState(false);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [finished, setFinished] = useState(false);

  const start = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = otp ? { mfa_type: "OTP" } : { mfa_type: "EMAIL", options: { email } };
      const answer = await call<User>(session, "enable-mfa", { user_id: me.user_id, ...body }, renewed);
      const given = answer.mfa.options?.otp_qrcode_uri;
      if (otp && typeof given === "string") setUri(given);
      else setMailed(true);
    } catch (failure) {
      setError(describe(failure));
    }
  };
  const confirm = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await call(session, "confirm-mfa", { user_id: me.user_id, verify_code: code.trim() }, renewed);
      setFinished(true);
    } catch (failure) {
      setError(describe(failure));
    }
  };

  if (finished) {
    return (
      <main class="narrow">
        <h1>MFA is on</h1>
        <Status>Your account now asks for a code at each sign-in.</Status>
        <p>Sign in again, with a code, to go on.</p>
        <button type="button" onClick={done}>
          Sign in again
        </button>
      </main>
    );
  }
  const secret = uri ? new URL(uri).searchParams.get("secret") : null;
  return (
    <main class="narrow">
      <h1>Set up MFA</h1>
      <p>
        An administrator requires {otp ? "an authenticator app" : "a code by email"} for your account. Set it up to go on.
      </p>
      {!uri && !mailed && (
        <form onSubmit={start}>
          {!otp && <Field label="Email for codes" name="mfa_email" type="email" value={email} onInput={setEmail} required />}
          <button type="submit">{otp ? "Show the code for my app" : "Mail me a code"}</button>
        </form>
      )}
      {(uri || mailed) && (
        <form onSubmit={confirm}>
          {uri && (
            <>
              <p>Scan this with your authenticator app, or type the key in. It is shown this once.</p>
              <Qr text={uri} label="The QR code for your authenticator app" />
              <p>
                Key: <code>{secret}</code>
              </p>
            </>
          )}
          {mailed && <p>A code was mailed to {email}.</p>}
          <Field label="Code" name="verify_code" value={code} onInput={setCode} required autocomplete="one-time-code" />
          <button type="submit">Turn MFA on</button>
        </form>
      )}
      {error && <Alert>{error}</Alert>}
    </main>
  );
}
