// The domain at a glance (DOMAIN_ADMIN): `stat` groups the users by state, auth type, MFA
// state and role, counts sign-ups per month (`date_format` on created_at) and the users not
// seen for 90 days. Each chart is plain SVG (hidden from screen readers) beside a table of the
// same numbers, and every bar and row links to the users table filtered to match.

import { useEffect, useState } from "preact/hooks";
import { describe } from "./api";
import { Alert } from "./fields";
import { call, type Session } from "./session";
import { IDLE_DAYS, IDLE_FILTER } from "./users";

interface Row {
  label: string;
  count: number;
  href: string;
}

interface Chart {
  id: string;
  title: string;
  /** The table's first column. */
  what: string;
  rows: Row[];
  vertical?: boolean;
}

/** The group charts: the users table's filter (its URL parameter) for each key. */
const GROUPS: { id: string; title: string; what: string; key: string; param: string }[] = [
  { id: "state", title: "Users by state", what: "State", key: "state", param: "state" },
  { id: "auth", title: "Users by auth type", what: "Auth type", key: "auth_type", param: "auth" },
  { id: "mfa", title: "Users by MFA state", what: "MFA", key: "mfa.state", param: "mfa" },
  { id: "role", title: "Users by role", what: "Role", key: "role_type", param: "role" },
];

const MONTHS = 12;

/** The last `MONTHS` months as `YYYY-MM`, oldest first (UTC, as created_at is). */
function lastMonths(now: Date): string[] {
  const months = [];
  for (let back = MONTHS - 1; back >= 0; back--) {
    const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    months.push(at.toISOString().slice(0, 7));
  }
  return months;
}

type StatRow = Record<string, unknown>;

async function load(session: Session, renewed: (s: Session) => void): Promise<Chart[]> {
  const stat = (query: Record<string, unknown>) =>
    call<{ results: StatRow[] }>(session, "stat", { query }, renewed).then((answer) => answer.results);
  const count = { operator: "count", name: "count" };
  const months = lastMonths(new Date());
  const [groups, signUps, idle, everyone] = await Promise.all([
    Promise.all(
      GROUPS.map((g) =>
        stat({ aggregate: [{ group: { keys: [{ key: g.key, name: "value" }], fields: [count] } }, { sort: { key: "count", desc: true } }] }),
      ),
    ),
    stat({
      filter: [{ k: "created_at", v: `${months[0]}-01T00:00:00.000Z`, o: "datetime_gte" }],
      aggregate: [{ group: { keys: [{ key: "created_at", name: "month", date_format: "%Y-%m" }], fields: [count] } }],
    }),
    stat({ filter_or: IDLE_FILTER, aggregate: [{ count: { name: "count" } }] }),
    stat({ aggregate: [{ count: { name: "count" } }] }),
  ]);
  const number = (row: StatRow | undefined) => (typeof row?.count === "number" ? row.count : 0);
  const charts: Chart[] = GROUPS.map((g, i) => ({
    id: g.id,
    title: g.title,
    what: g.what,
    rows: (groups[i] ?? []).map((row) => {
      const value = row.value == null ? "" : String(row.value);
      return { label: value || "(none)", count: number(row), href: `#/users?${g.param}=${encodeURIComponent(value)}` };
    }),
  }));
  const perMonth = new Map(signUps.map((row) => [String(row.month), number(row)]));
  charts.push({
    id: "signups",
    title: "Sign-ups per month",
    what: "Month",
    vertical: true,
    rows: months.map((month) => ({ label: month, count: perMonth.get(month) ?? 0, href: `#/users?created=${month}` })),
  });
  const notSeen = number(idle[0]);
  charts.push({
    id: "access",
    title: `Last access`,
    what: "Last access",
    rows: [
      { label: `Within ${IDLE_DAYS} days`, count: number(everyone[0]) - notSeen, href: "#/users?access=recent" },
      { label: `Not for ${IDLE_DAYS} days`, count: notSeen, href: "#/users?access=idle" },
    ],
  });
  return charts;
}

export function Overview({ session, renewed }: { session: Session; renewed: (s: Session) => void }) {
  const [charts, setCharts] = useState<Chart[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    load(session, renewed)
      .then(setCharts)
      .catch((failure) => setError(describe(failure)));
  }, [session.domainId]);
  return (
    <main>
      <h1>Overview</h1>
      {error && <Alert>{error}</Alert>}
      {!charts && !error && <p role="status">Loading…</p>}
      {charts && (
        <div class="cards">
          {charts.map((chart) => (
            <section class={chart.vertical ? "card wide" : "card"} aria-labelledby={`${chart.id}-title`}>
              <h2 id={`${chart.id}-title`}>{chart.title}</h2>
              {chart.vertical ? <Columns rows={chart.rows} /> : <Bars rows={chart.rows} />}
              <table class="figures">
                <caption class="visually-hidden">{chart.title}</caption>
                <thead>
                  <tr>
                    <th scope="col">{chart.what}</th>
                    <th scope="col">Users</th>
                  </tr>
                </thead>
                <tbody>
                  {chart.rows.map((row) => (
                    <tr>
                      <th scope="row">
                        <a href={row.href}>{row.label}</a>
                      </th>
                      <td>{row.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))}
        </div>
      )}
    </main>
  );
}

const INK = "#1b1f24";
const BAR = "#1f4fb5";

/**
 * Horizontal bars, one per row, each leading to its users on a click (the mouse's way; the
 * table's links are the keyboard's and the screen reader's, so the chart holds nothing focusable).
 */
function Bars({ rows }: { rows: Row[] }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const line = 26;
  const width = 360;
  const labelWidth = 130;
  const barSpace = width - labelWidth - 50;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${rows.length * line + 4}`} aria-hidden="true" focusable="false">
      {rows.map((row, i) => {
        const y = i * line + 2;
        const bar = Math.max(row.count > 0 ? 2 : 0, (row.count / max) * barSpace);
        return (
          <g class="bar" data-href={row.href} onClick={() => (location.hash = row.href)}>
            <text x={labelWidth - 6} y={y + 17} text-anchor="end" fill={INK} font-size="12">
              {row.label}
            </text>
            <rect x={labelWidth} y={y + 3} width={bar} height={line - 8} fill={BAR} rx="2" />
            <text x={labelWidth + bar + 6} y={y + 17} fill={INK} font-size="12">
              {row.count}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** Vertical columns, one per row (the months), labelled below. */
function Columns({ rows }: { rows: Row[] }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const column = 54;
  const height = 150;
  const top = 18;
  const width = rows.length * column;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height + top + 22}`} aria-hidden="true" focusable="false">
      {rows.map((row, i) => {
        const x = i * column;
        const bar = Math.max(row.count > 0 ? 2 : 0, (row.count / max) * height);
        return (
          <g class="bar" data-href={row.href} onClick={() => (location.hash = row.href)}>
            <rect x={x + 8} y={top + height - bar} width={column - 16} height={bar} fill={BAR} rx="2" />
            <text x={x + column / 2} y={top + height - bar - 4} text-anchor="middle" fill={INK} font-size="12">
              {row.count}
            </text>
            <text x={x + column / 2} y={top + height + 16} text-anchor="middle" fill={INK} font-size="11">
              {row.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
