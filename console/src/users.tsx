import { useEffect, useState } from "preact/hooks";
import { describe } from "./api";
import { go, type Route } from "./route";
import { call, type Session } from "./session";

export interface User {
  user_id: string;
  name: string;
  state: string;
  email: string;
  email_verified: boolean;
  auth_type: string;
  role_type: string;
  mfa: { state: string; mfa_type?: string; options?: Record<string, unknown> };
  language: string;
  timezone: string;
  required_actions: string[];
  tags: Record<string, unknown>;
  domain_id: string;
  created_at: string;
  last_accessed_at: string | null;
}

/** The filters a view may carry in its URL, and the Query condition each becomes. */
const FILTERS: { param: string; label: string; key: string; options: string[] }[] = [
  { param: "state", label: "State", key: "state", options: ["ENABLED", "DISABLED", "PENDING"] },
  { param: "auth", label: "Auth type", key: "auth_type", options: ["LOCAL", "EXTERNAL"] },
  { param: "mfa", label: "MFA", key: "mfa.state", options: ["ENABLED", "DISABLED"] },
  { param: "role", label: "Role", key: "role_type", options: ["DOMAIN_ADMIN", "WORKSPACE_OWNER", "WORKSPACE_MEMBER", "USER"] },
];

const PAGE_SIZE = 20;

/** Users "not seen" for this many days: last access before then, or never. */
export const IDLE_DAYS = 90;
/** Seen in the last IDLE_DAYS: the table's `access=recent` and the overview's count of it. */
export const RECENT_CONDITION = { k: "last_accessed_at", v: `now-${IDLE_DAYS}d`, o: "timediff_gte" };
/** Its complement (a missing last access never matches a comparison): `access=idle`. */
export const IDLE_FILTER = [
  { k: "last_accessed_at", v: `now-${IDLE_DAYS}d`, o: "timediff_lt" },
  { k: "last_accessed_at", v: false, o: "exists" },
];

/**
 * The conditions the overview's links carry besides FILTERS: `created=YYYY-MM` (created in
 * that month, UTC) and `access=idle|recent` (not seen for IDLE_DAYS, or seen since). Each with
 * the sentence the table shows while it applies.
 */
function extraConditions(created: string, access: string) {
  const filter: { k: string; v: unknown; o: string }[] = [];
  let filterOr: typeof IDLE_FILTER | undefined;
  const shown: string[] = [];
  const month = /^(\d{4})-(\d{2})$/.exec(created);
  if (month) {
    const start = new Date(Date.UTC(Number(month[1]), Number(month[2]) - 1, 1));
    const end = new Date(Date.UTC(Number(month[1]), Number(month[2]), 1));
    if (!Number.isNaN(start.getTime())) {
      filter.push({ k: "created_at", v: start.toISOString(), o: "datetime_gte" });
      filter.push({ k: "created_at", v: end.toISOString(), o: "datetime_lt" });
      shown.push(`created in ${created}`);
    }
  }
  if (access === "idle") {
    filterOr = IDLE_FILTER;
    shown.push(`not seen for ${IDLE_DAYS} days`);
  } else if (access === "recent") {
    filter.push(RECENT_CONDITION);
    shown.push(`seen in the last ${IDLE_DAYS} days`);
  }
  return { filter, filterOr, shown };
}

interface Answer {
  results: User[];
  total_count: number;
}

/** Pages answered lately, by their query: at most a few, for this tab only. */
const pages_seen = new Map<string, Answer>();
function remember(key: string, answer: Answer) {
  pages_seen.delete(key);
  pages_seen.set(key, answer);
  for (const oldest of pages_seen.keys()) {
    if (pages_seen.size <= 8) break;
    pages_seen.delete(oldest);
  }
}
const COLUMNS: [key: string, title: string][] = [
  ["user_id", "User ID"],
  ["name", "Name"],
  ["email", "Email"],
  ["state", "State"],
  ["auth_type", "Auth type"],
  ["role_type", "Role"],
  ["mfa.state", "MFA"],
  ["last_accessed_at", "Last access"],
];

/** The users of the domain, a page at a time: `list` with the view in the URL. */
export function Users({ session, route, renewed }: { session: Session; route: Route; renewed: (s: Session) => void }) {
  const page = Math.max(1, Number(route.params.get("page")) || 1);
  const sort = route.params.get("sort") ?? "user_id";
  const desc = route.params.get("desc") === "1";
  const keyword = route.params.get("q") ?? "";
  const chosen = Object.fromEntries(FILTERS.map((f) => [f.param, route.params.get(f.param) ?? ""]));
  const tag = route.params.get("tag") ?? "";
  const created = route.params.get("created") ?? "";
  const access = route.params.get("access") ?? "";
  const extra = extraConditions(created, access);
  // The answer with the page it is of: the caption tells what the table shows, not what is
  // being loaded.
  const [result, setResult] = useState<{ results: User[]; total_count: number; page: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(keyword);

  useEffect(() => {
    let live = true;
    const query = (pageNumber: number) => {
      const built: Record<string, unknown> = {
        page: { start: (pageNumber - 1) * PAGE_SIZE + 1, limit: PAGE_SIZE },
        sort: { key: sort, desc },
      };
      if (keyword) built.keyword = keyword;
      const filter: { k: string; v: unknown; o: string }[] = FILTERS.filter((f) => chosen[f.param]).map((f) => ({
        k: f.key,
        v: chosen[f.param],
        o: "eq",
      }));
      const at = tag.indexOf("=");
      if (at > 0) filter.push({ k: `tags.${tag.slice(0, at).trim()}`, v: tag.slice(at + 1).trim(), o: "eq" });
      filter.push(...extra.filter);
      if (filter.length) built.filter = filter;
      if (extra.filterOr) built.filter_or = extra.filterOr;
      return built;
    };
    const fetchPage = (pageNumber: number) => {
      const built = query(pageNumber);
      return call<Answer>(session, "list", { query: built }, renewed).then((answer) => {
        remember(JSON.stringify(built), answer);
        return answer;
      });
    };
    // A page seen or fetched ahead shows at once; the list is asked again all the same, so
    // the table is never older than one answer.
    const cached = pages_seen.get(JSON.stringify(query(page)));
    if (cached) setResult({ ...cached, page });
    fetchPage(page)
      .then((answer) => {
        if (!live) return;
        setResult({ ...answer, page });
        setError(null);
        // The next page, ahead of a click on Next.
        if (page * PAGE_SIZE < answer.total_count) fetchPage(page + 1).catch(() => {});
      })
      .catch((failure) => live && setError(describe(failure)));
    return () => {
      live = false;
    };
  }, [session.access, page, sort, desc, keyword, tag, created, access, ...FILTERS.map((f) => chosen[f.param])]);

  // From the address as it is now (not as this render saw it): two changes in quick
  // succession both stay.
  const view = (changes: Record<string, string | number | undefined>) => {
    const now = new URLSearchParams(location.hash.split("?", 2)[1] ?? "");
    go("/users", { ...Object.fromEntries(now), ...changes });
  };
  const [tagText, setTagText] = useState(tag);
  const pages = result ? Math.max(1, Math.ceil(result.total_count / PAGE_SIZE)) : 1;

  return (
    <main>
      <div class="title">
        <h1>Users</h1>
        <a class="button" href="#/users/new">
          New user
        </a>
      </div>
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          view({ q: search.trim() || undefined, tag: tagText.trim() || undefined, page: 1 });
        }}
      >
        <label>
          Search
          <input name="q" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="ID, name or email" />
        </label>
        <label>
          Tag
          <input name="tag" value={tagText} onInput={(e) => setTagText(e.currentTarget.value)} placeholder="key=value" />
        </label>
        <button type="submit">Search</button>
      </form>
      <div class="filters">
        {FILTERS.map((f) => (
          <label>
            {f.label}
            <select name={f.param} value={chosen[f.param]} onChange={(e) => view({ [f.param]: e.currentTarget.value || undefined, page: 1 })}>
              <option value="">any</option>
              {f.options.map((o) => (
                <option value={o}>{o}</option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {extra.shown.length > 0 && (
        <p class="applied">
          Only users {extra.shown.join(" and ")}.{" "}
          <button type="button" class="link" onClick={() => view({ created: undefined, access: undefined, page: 1 })}>
            Show all
          </button>
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table>
        <caption>
          {result ? `${result.total_count} users, page ${result.page} of ${pages}` : "Loading…"}
        </caption>
        <thead>
          <tr>
            {COLUMNS.map(([key, title]) => (
              <th scope="col" aria-sort={sort === key ? (desc ? "descending" : "ascending") : "none"}>
                <button type="button" class="link" onClick={() => view({ sort: key, desc: sort === key && !desc ? 1 : undefined, page: 1 })}>
                  {title}
                  {sort === key ? (desc ? " ▼" : " ▲") : ""}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result?.results.map((user) => (
            <tr key={user.user_id}>
              <td>
                <a href={`#/user/${encodeURIComponent(user.user_id)}`}>{user.user_id}</a>
              </td>
              <td>{user.name}</td>
              <td>{user.email}</td>
              <td>{user.state}</td>
              <td>{user.auth_type}</td>
              <td>{user.role_type}</td>
              <td>{user.mfa.state === "ENABLED" ? user.mfa.mfa_type ?? "ENABLED" : "off"}</td>
              <td>{user.last_accessed_at ? new Date(user.last_accessed_at).toLocaleString() : "never"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav aria-label="Pages" class="pager">
        <button type="button" disabled={page <= 1} onClick={() => view({ page: page - 1 })}>
          Previous
        </button>
        <button type="button" disabled={page >= pages} onClick={() => view({ page: page + 1 })}>
          Next
        </button>
      </nav>
    </main>
  );
}
