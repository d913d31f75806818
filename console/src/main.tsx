import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { describe } from "./api";
import { CreateUser } from "./create";
import { Alert } from "./fields";
import { Account } from "./account";
import { Overview } from "./overview";
import { ChangePassword } from "./password";
import { go, type Route, useRoute } from "./route";
import { call, restore, type Session, signOut } from "./session";
import { SignIn } from "./signin";
import { UserPage } from "./user";
import { type User, Users } from "./users";

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(true);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    restore().then((restored) => {
      setSession(restored);
      setRestoring(false);
    });
  }, []);

  const end = (message: string | null) => {
    signOut();
    setSession(null);
    setNotice(message);
    go("/");
  };
  if (restoring) return <p role="status">Loading…</p>;
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => (setNotice(null), setSession(signedIn), go(signedIn.role === "DOMAIN_ADMIN" && !signedIn.restricted ? "/users" : "/account"))}
      />
    );
  }
  const admin = session.role === "DOMAIN_ADMIN" && !session.restricted;
  const here = (path: string) => (route.path === path || route.path.startsWith(`${path}/`) ? ("page" as const) : undefined);
  return (
    <>
      <header>
        <a href={admin ? "#/users" : "#/account"} class="brand">
          Users console
        </a>
        {!session.restricted && (
          <nav aria-label="Console">
            {admin && (
              <>
                <a href="#/overview" aria-current={here("/overview")}>
                  Overview
                </a>
                <a href="#/users" aria-current={here("/users")}>
                  Users
                </a>
              </>
            )}
            <a href="#/account" aria-current={here("/account")}>
              My account
            </a>
          </nav>
        )}
        <span>
          Signed in as <strong>{session.userId}</strong> ({session.domainId})
        </span>
        <button type="button" class="secondary" onClick={() => end(null)}>
          Sign out
        </button>
      </header>
      {session.restricted ? (
        <Restricted session={session} renewed={setSession} signInAgain={end} />
      ) : (
        <Page session={session} route={route} renewed={setSession} signInAgain={end} />
      )}
    </>
  );
}

interface PageProps {
  session: Session;
  renewed: (s: Session) => void;
  signInAgain: (notice: string) => void;
}

function Page({ session, route, renewed, signInAgain }: PageProps & { route: Route }) {
  if (route.path === "/account" || session.role !== "DOMAIN_ADMIN") {
    return <Account session={session} renewed={renewed} signInAgain={signInAgain} />;
  }
  if (route.path === "/overview") return <Overview session={session} renewed={renewed} />;
  if (route.path === "/users/new") return <CreateUser session={session} renewed={renewed} />;
  const user = /^\/user\/(.+)$/.exec(route.path)?.[1];
  if (user) return <UserPage session={session} userId={decodeURIComponent(user)} renewed={renewed} />;
  return <Users session={session} route={route} renewed={renewed} />;
}

/**
 * A token that may act only as the user itself: straight to what clears it, the password
 * change, or the account page's MFA set-up (ENFORCE_MFA).
 */
function Restricted({ session, renewed, signInAgain }: PageProps) {
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call<User>(session, "get", { user_id: session.userId }, renewed)
      .then(setMe)
      .catch((failure) => setError(describe(failure)));
  }, [session.access]);
  if (error) return <main>{<Alert>{error}</Alert>}</main>;
  if (!me) return <p role="status">Loading…</p>;
  if (me.required_actions.includes("UPDATE_PASSWORD")) {
    return (
      <ChangePassword
        session={session}
        done={(fresh) => (renewed(fresh), go(fresh.role === "DOMAIN_ADMIN" && !fresh.restricted ? "/users" : "/account"))}
        signInAgain={signInAgain}
      />
    );
  }
  return <Account session={session} renewed={renewed} signInAgain={signInAgain} />;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
