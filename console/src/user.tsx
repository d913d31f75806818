import { useEffect, useRef, useState } from "preact/hooks";
import { describe } from "./api";
import { Alert, Status } from "./fields";
import { ALL_FIELDS, Profile } from "./profile";
import { go } from "./route";
import { call, type Session } from "./session";
import type { User } from "./users";

type Renewed = (session: Session) => void;

/** One user: what the API holds, the profile to edit, and the admin's actions on it. */
export function UserPage({ session, userId, renewed }: { session: Session; userId: string; renewed: Renewed }) {
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = () =>
    call<User>(session, "get", { user_id: userId }, renewed)
      .then((found) => (setUser(found), setError(null)))
      .catch((failure) => setError(describe(failure)));
  useEffect(() => {
    load();
  }, [userId]);

  const act = async (label: string, method: string, body: Record<string, unknown>) => {
    setNotice(null);
    setError(null);
    try {
      const answer = await call<User | Record<string, never>>(session, method, { user_id: userId, ...body }, renewed);
      if ("user_id" in answer) setUser(answer as User);
      else await load();
      setNotice(label);
    } catch (failure) {
      setError(describe(failure));
    }
  };

  if (!user) {
    return <main>{error ? <Alert>{error}</Alert> : <p role="status">Loading…</p>}</main>;
  }
  const enabled = user.state === "ENABLED";
  return (
    <main>
      <p>
        <a href="#/users">← Users</a>
      </p>
      <h1>{user.name ? `${user.name} (${user.user_id})` : user.user_id}</h1>
      {notice && <Status>{notice}</Status>}
      {error && <Alert>{error}</Alert>}
      <dl class="facts">
        <dt>State</dt>
        <dd>{user.state}</dd>
        <dt>Auth type</dt>
        <dd>{user.auth_type}</dd>
        <dt>Role</dt>
        <dd>{user.role_type}</dd>
        <dt>Email</dt>
        <dd>{user.email ? `${user.email} (${user.email_verified ? "verified" : "not verified"})` : "none"}</dd>
        <dt>MFA</dt>
        <dd>{user.mfa.state === "ENABLED" ? `on (${user.mfa.mfa_type})` : "off"}</dd>
        <dt>Required actions</dt>
        <dd>{user.required_actions.length ? user.required_actions.join(", ") : "none"}</dd>
        <dt>Created</dt>
        <dd>{new Date(user.created_at).toLocaleString()}</dd>
        <dt>Last access</dt>
        <dd>{user.last_accessed_at ? new Date(user.last_accessed_at).toLocaleString() : "never"}</dd>
      </dl>
      <Profile session={session} user={user} renewed={renewed} saved={(u) => (setUser(u), setNotice("Saved."))} fields={ALL_FIELDS} />
      <section aria-labelledby="actions-title">
        <h2 id="actions-title">Actions</h2>
        <div class="actions">
          <button type="button" onClick={() => act(enabled ? "Disabled." : "Enabled.", enabled ? "disable" : "enable", {})}>
            {enabled ? "Disable" : "Enable"}
          </button>
          {user.email && !user.email_verified && (
            <button type="button" onClick={() => act("The email is marked verified.", "verify-email", { force: true })}>
              Mark email verified
            </button>
          )}
          {user.auth_type === "LOCAL" && (
            <button type="button" onClick={() => act("A temporary password was mailed.", "update", { reset_password: true })}>
              Reset password
            </button>
          )}
          {user.mfa.state === "ENABLED" && (
            <button type="button" onClick={() => act("MFA is off.", "disable-mfa", { force: true })}>
              Turn MFA off
            </button>
          )}
          {user.auth_type === "LOCAL" && !user.required_actions.includes("UPDATE_PASSWORD") && (
            <button
              type="button"
              onClick={() => act("The user must change its password.", "set-required-actions", { actions: ["UPDATE_PASSWORD"] })}
            >
              Require a password change
            </button>
          )}
          <Delete session={session} userId={user.user_id} renewed={renewed} failed={setError} />
        </div>
      </section>
    </main>
  );
}

/** Delete, after a confirmation that names the user. */
function Delete({ session, userId, renewed, failed }: { session: Session; userId: string; renewed: Renewed; failed: (e: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const confirm = async () => {
    dialog.current?.close();
    try {
      await call(session, "delete", { user_id: userId }, renewed);
      go("/users");
    } catch (failure) {
      failed(describe(failure));
    }
  };
  return (
    <>
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>
        Delete
      </button>
      <dialog ref={dialog} aria-labelledby="delete-title">
        <h2 id="delete-title">Delete {userId}?</h2>
        <p>The user {userId} and its role binding are deleted, and its tokens stop working. This cannot be undone.</p>
        <div class="actions">
          <button type="button" class="danger" onClick={confirm}>
            Delete {userId}
          </button>
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}
