// Signing in through the Token API (SPEC section 9): issue with the password (and a second
// step with a code when MFA asks for one), then grant: DOMAIN scope for an administrator,
// USER otherwise. Tokens live in memory; the refresh token also in sessionStorage (this tab
// only, gone when it closes), so a reload keeps the session. Never localStorage.

import { ApiError, post } from "./api";

export interface Session {
  domainId: string;
  userId: string;
  access: string;
  refresh: string;
  /** The role of the access token: DOMAIN_ADMIN, or USER for everyone else. */
  role: string;
  /** The token may act only as the user itself (a password change or MFA set-up pending). */
  restricted: boolean;
}

const STORE_KEY = "users-console.session";

interface Tokens {
  access_token: string;
  refresh_token: string;
}

function claims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json) as Record<string, unknown>;
}

export type SignInStep = { kind: "signed-in"; session: Session } | { kind: "code-needed"; message: string };

/** One sign-in call; `code` for the second step of MFA. */
export async function signIn(domainId: string, userId: string, password: string, code?: string): Promise<SignInStep> {
  const body: Record<string, unknown> = { credentials: { user_id: userId, password }, domain_id: domainId };
  if (code) {
    body.verify_code = code;
    body.auth_type = "MFA";
  }
  let tokens: Tokens;
  try {
    tokens = await post<Tokens>("/identity/v2/token/issue", body);
  } catch (error) {
    if (error instanceof ApiError && error.code === "ERROR_MFA_REQUIRED") {
      return { kind: "code-needed", message: error.message };
    }
    throw error;
  }
  const session = await grant(domainId, userId, tokens.refresh_token);
  save(session);
  return { kind: "signed-in", session };
}

/** An access token from the refresh token: DOMAIN scope if the user may have it, else USER. */
async function grant(domainId: string, userId: string, refresh: string): Promise<Session> {
  const ask = (scope: string) =>
    post<{ access_token: string; role_type: string }>("/identity/v2/token/grant", {
      grant_type: "REFRESH_TOKEN",
      token: refresh,
      scope,
      domain_id: domainId,
    });
  let granted;
  try {
    granted = await ask("DOMAIN");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    granted = await ask("USER");
  }
  const permissions = claims(granted.access_token).permissions;
  return {
    domainId,
    userId,
    access: granted.access_token,
    refresh,
    role: granted.role_type,
    restricted: Array.isArray(permissions) && !permissions.includes("identity:User"),
  };
}

function save(session: Session | null) {
  if (session) {
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ domainId: session.domainId, userId: session.userId, refresh: session.refresh }));
  } else {
    sessionStorage.removeItem(STORE_KEY);
  }
}

/** The session of this tab after a reload: a new access token from the stored refresh token. */
export async function restore(): Promise<Session | null> {
  const stored = sessionStorage.getItem(STORE_KEY);
  if (!stored) return null;
  try {
    const { domainId, userId, refresh } = JSON.parse(stored) as { domainId: string; userId: string; refresh: string };
    const session = await grant(domainId, userId, refresh);
    save(session);
    return session;
  } catch {
    save(null);
    return null;
  }
}

export function signOut() {
  save(null);
}

/**
 * A new access token for `session` from its refresh token: after the user finished what its
 * restricted token was for (MFA set up), the grant answers a full one.
 */
export async function renew(session: Session): Promise<Session> {
  const fresh = await grant(session.domainId, session.userId, session.refresh);
  save(fresh);
  return fresh;
}

/**
 * Calls the User API as `session`; an access token that expired is renewed once from the
 * refresh token and the call repeated, so the page keeps its state. `renewed` receives the
 * new session.
 */
export async function call<T>(
  session: Session,
  method: string,
  body: Record<string, unknown>,
  renewed: (session: Session) => void,
): Promise<T> {
  const path = `/identity/v2/user/${method}`;
  const withDomain = { domain_id: session.domainId, ...body };
  try {
    return await post<T>(path, withDomain, session.access);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "ERROR_AUTHENTICATE_FAILURE") throw error;
    const fresh = await grant(session.domainId, session.userId, session.refresh);
    save(fresh);
    renewed(fresh);
    return post<T>(path, withDomain, fresh.access);
  }
}
