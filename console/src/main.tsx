import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { go, useRoute } from "./route";
import { restore, type Session, signOut } from "./session";
import { SignIn } from "./signin";
import { Users } from "./users";

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
    return <SignIn onSignedIn={(signedIn) => (setSession(signedIn), go("/users"))} />;
  }
  return (
    <>
      <header>
        <span>
          Signed in as <strong>{session.userId}</strong> ({session.domainId})
        </span>
        <button
          type="button"
          onClick={() => {
            signOut();
            setSession(null);
            go("/");
          }}
        >
          Sign out
        </button>
      </header>
      {session.role === "DOMAIN_ADMIN" && !session.restricted ? (
        <Users session={session} route={route} renewed={setSession} />
      ) : (
        <main>
          <h1>Welcome, {session.userId}</h1>
          <p>Only domain administrators manage users here.</p>
        </main>
      )}
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
