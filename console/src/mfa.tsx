import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { encode } from "uqr";
import { describe } from "./api";
import { Alert, attempt, Field, Status } from "./fields";
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

type MfaType = "OTP" | "EMAIL";

/** What is under way: nothing, an enrolment waiting for its code, or a disable waiting for one. */
type Step = { kind: "idle" } | { kind: "enrolling"; type: MfaType; uri: string | null; email: string } | { kind: "disabling" };

/**
 * The user's own MFA: set it up (an authenticator app by its QR code, drawn here from the
 * `otp_qrcode_uri` enable-mfa answers once, or codes by email), or turn it off with a current
 * code. When an administrator enforces a type, only that type is offered. The secret stays in
 * this component's memory until the code confirms it, and is dropped with it.
 */
export function Mfa({
  session,
  me,
  renewed,
  changed,
}: {
  session: Session;
  me: User;
  renewed: (s: Session) => void;
  changed: (user: User) => void;
}) {
  const enforced = me.mfa.options?.enforce === true ? (me.mfa.mfa_type as MfaType | undefined) : undefined;
  const on = me.mfa.state === "ENABLED";
  const [type, setType] = useState<MfaType>(enforced ?? "OTP");
  const [email, setEmail] = useState(me.email);
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const run = (work: () => Promise<void>) =>
    attempt(
      () => (setError(null), setNotice(null)),
      work,
      (failure) => setError(describe(failure)),
    );
  const start = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const body = type === "OTP" ? { mfa_type: "OTP" } : { mfa_type: "EMAIL", options: { email: email.trim() } };
      const answer = await call<User>(session, "enable-mfa", { user_id: me.user_id, ...body }, renewed);
      const uri = answer.mfa.options?.otp_qrcode_uri;
      setCode("");
      setStep({ kind: "enrolling", type, uri: typeof uri === "string" ? uri : null, email: email.trim() });
    });
  };
  const turnOff = () =>
    run(async () => {
      await call<User>(session, "disable-mfa", { user_id: me.user_id }, renewed);
      setCode("");
      setStep({ kind: "disabling" });
    });
  const confirm = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const answer = await call<User>(session, "confirm-mfa", { user_id: me.user_id, verify_code: code.trim() }, renewed);
      setStep({ kind: "idle" });
      setNotice(answer.mfa.state === "ENABLED" ? "MFA is on." : "MFA is off.");
      changed(answer);
    });
  };

  const codeForm = (intro: ComponentChildren, button: string) => (
    <form onSubmit={confirm}>
      {intro}
      <Field label="Code" name="verify_code" value={code} onInput={setCode} required autocomplete="one-time-code" />
      <div class="actions">
        <button type="submit">{button}</button>
        <button type="button" class="secondary" onClick={() => (setStep({ kind: "idle" }), setError(null))}>
          Cancel
        </button>
      </div>
    </form>
  );

  let body;
  if (step.kind === "enrolling") {
    const secret = step.uri ? new URL(step.uri).searchParams.get("secret") : null;
    body = codeForm(
      step.uri ? (
        <>
          <p>Scan this with your authenticator app, or type the key in. It is shown this once.</p>
          <Qr text={step.uri} label="The QR code for your authenticator app" />
          <p>
            Key: <code>{secret}</code>
          </p>
          <p>Then enter the code the app shows.</p>
        </>
      ) : (
        <p>A code was mailed to {step.email}.</p>
      ),
      "Turn MFA on",
    );
  } else if (step.kind === "disabling") {
    body = codeForm(
      <p>{me.mfa.mfa_type === "OTP" ? "Enter a code from your authenticator app." : `A code was mailed to ${String(me.mfa.options?.email ?? "your MFA email")}.`}</p>,
      "Turn MFA off",
    );
  } else if (on) {
    body = (
      <>
        <p>
          MFA is on: {me.mfa.mfa_type === "OTP" ? "a code from your authenticator app" : `a code mailed to ${String(me.mfa.options?.email ?? "you")}`}{" "}
          at each sign-in.
        </p>
        <button type="button" class="secondary" onClick={turnOff}>
          Turn MFA off…
        </button>
      </>
    );
  } else {
    body = (
      <form onSubmit={start}>
        {enforced ? (
          <p>An administrator requires {enforced === "OTP" ? "an authenticator app" : "a code by email"} for your account.</p>
        ) : (
          <fieldset>
            <legend>Second step at sign-in</legend>
            <label class="choice">
              <input type="radio" name="mfa_type" value="OTP" checked={type === "OTP"} onChange={() => setType("OTP")} />
              An authenticator app
            </label>
            <label class="choice">
              <input type="radio" name="mfa_type" value="EMAIL" checked={type === "EMAIL"} onChange={() => setType("EMAIL")} />A
              code by email
            </label>
          </fieldset>
        )}
        {type === "EMAIL" && <Field label="Email for codes" name="mfa_email" type="email" value={email} onInput={setEmail} required />}
        <button type="submit">{type === "OTP" ? "Show the code for my app" : "Mail me a code"}</button>
      </form>
    );
  }
  return (
    <section aria-labelledby="mfa-title">
      <h2 id="mfa-title">Multi-factor authentication</h2>
      {notice && <Status>{notice}</Status>}
      {body}
      {error && <Alert>{error}</Alert>}
    </section>
  );
}
