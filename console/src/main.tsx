import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { describe } from "./api";
import { CreateUser } from "./create";
import { Alert } from "./fields";
import { SetUpMfa } from "./mfa";
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

  useEffect(() => {
    restore().then((restored) => {
      setSession(restored);
      setRestoring(false);
    });
  }, []);

  if (restoring) return <p role="status">Loading…</p>;
  if (!session) {
    return <SignIn onSignedIn={(signedIn) => (setSession(signedIn), go(signedIn.role === "DOMAIN_ADMIN" ? "/users" : "/"))} />;
  }
  return (
    <>
      <header>
        <a href={session.role === "DOMAIN_ADMIN" ? "#/users" : "#/"} class="brand">
          Users console
        </a>
        <span>
          Signed in as <strong>{session.userId}</strong> ({session.domainId})
        </span>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            signOut();
            setSession(null);
            go("/");
          }}
        >
          Sign out
        </button>
      </header>
      {session.restricted ? (
        <Restricted
          session={session}
          renewed={setSession}
          finished={() => {
            signOut();
            setSession(null);
            go("/");
          }}
        />
      ) : (
        <Page session={session} route={route} renewed={setSession} />
      )}
    </>
  );
}

function Page({ session, route, renewed }: { session: Session; route: Route; renewed: (s: Session) => void }) {
  if (session.role !== "DOMAIN_ADMIN") {
    return (
      <main>
        <h1>Welcome, {session.userId}</h1>
        <p>Only domain administrators manage users here.</p>
      </main>
    );
  }
  if (route.path === "/users/new") return <CreateUser session={session} renewed={renewed} />;
  const user = /^\/user\/(.+)$/.exec(route.path)?.[1];
  if (user) return <UserPage session={session} userId={decodeURIComponent(user)} renewed={renewed} />;
  return <Users session={session} route={route} renewed={renewed} />;
}

/** A token that may act only as the user itself: straight to what clears it. */
function Restricted({ session, renewed, finished }: { session: Session; renewed: (s: Session) => void; finished: () => void }) {
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call<User>(session, "get", { user_id: session.userId }, renewed)
      .then(setMe)
      .catch((failure) => setError(describe(failure)));
  }, [session.userId]);
  if (error) return <main>{<Alert>{error}</Alert>}</main>;
  if (!me) return <p role="status">Loading…</p>;
  if (me.required_actions.includes("UPDATE_PASSWORD")) {
    return <ChangePassword session={session} done={(fresh) => (renewed(fresh), go(fresh.role === "DOMAIN_ADMIN" ? "/users" : "/"))} />;
  }
  return <SetUpMfa session={session} me={me} renewed={renewed} done={finished} />;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
