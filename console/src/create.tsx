import { useState } from "preact/hooks";
import { ApiError, describe } from "./api";
import { Alert, Field } from "./fields";
import { go } from "./route";
import { call, type Session } from "./session";

/** Create or invite a user: LOCAL with a password or a mailed temporary one, or EXTERNAL. */
export function CreateUser({ session, renewed }: { session: Session; renewed: (s: Session) => void }) {
  const [userId, setUserId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [kind, setKind] = useState<"password" | "invite" | "external">("invite");
  const [password, setPassword] = useState("");
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<{ key: string | undefined; text: string } | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const body: Record<string, unknown> = {
      user_id: userId.trim(),
      name,
      email,
      auth_type: kind === "external" ? "EXTERNAL" : "LOCAL",
      permission_group: "DOMAIN",
      reset_password: kind === "invite",
    };
    if (kind === "password") body.password = password;
    if (admin) body.role_id = "managed-domain-admin";
    try {
      await call(session, "create", body, renewed);
      go(`/user/${encodeURIComponent(userId.trim())}`);
    } catch (failure) {
      const key = failure instanceof ApiError ? failure.key : undefined;
      const field = failure instanceof ApiError && failure.code === "ERROR_INCORRECT_PASSWORD_FORMAT" ? "password" : key;
      const onEmail = failure instanceof ApiError && failure.code === "ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL";
      setError({ key: onEmail ? "email" : field, text: describe(failure) });
    }
  };
  const at = (field: string) => (error?.key === field ? error.text : undefined);
  return (
    <main class="narrow">
      <p>
        <a href="#/users">← Users</a>
      </p>
      <h1>New user</h1>
      <form onSubmit={submit}>
        <Field label="User ID" name="user_id" value={userId} onInput={setUserId} required error={at("user_id")} />
        <Field label="Name" name="name" value={name} onInput={setName} error={at("name")} />
        <Field label="Email" name="email" type="email" value={email} onInput={setEmail} error={at("email")} />
        <fieldset>
          <legend>Sign-in</legend>
          <label class="choice">
            <input type="radio" name="kind" checked={kind === "invite"} onChange={() => setKind("invite")} />
            Mail a temporary password (the user chooses its own at first sign-in)
          </label>
          <label class="choice">
            <input type="radio" name="kind" checked={kind === "password"} onChange={() => setKind("password")} />
            Set a password
          </label>
          <label class="choice">
            <input type="radio" name="kind" checked={kind === "external"} onChange={() => setKind("external")} />
            External (signs in at its identity provider)
          </label>
        </fieldset>
        {kind === "password" && (
          <Field label="Password" name="password" type="password" value={password} onInput={setPassword} required autocomplete="new-password" error={at("password")} />
        )}
        <label class="choice">
          <input type="checkbox" name="admin" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} />
          Domain administrator
        </label>
        {error && !["user_id", "name", "email", "password"].includes(error.key ?? "") && <Alert>{error.text}</Alert>}
        <button type="submit">Create</button>
      </form>
    </main>
  );
}
