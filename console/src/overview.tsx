// The domain at a glance (DOMAIN_ADMIN), from one `stat` call: the users by state, auth type,
// MFA state and role, sign-ups per month (`date_format` on created_at) and the users not seen
// for 90 days. Each chart is plain SVG (hidden from screen readers) beside a table of the
// same numbers, and every bar and row links to the users table filtered to match.

import { useEffect, useState } from "preact/hooks";
import { describe } from "./api";
import { Alert } from "./fields";
import { call, type Session } from "./session";
import { IDLE_DAYS, RECENT_CONDITION } from "./users";

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

/**
 * Every chart from one `stat` call (one read of the domain, however many charts): users
 * grouped by the four keys and the month of created_at at once, each group counting its users
 * and those seen in the last IDLE_DAYS (a `count` with conditions); each chart sums the groups
 * over the other keys.
 */
async function load(session: Session, renewed: (s: Session) => void): Promise<Chart[]> {
  const keys = [...GROUPS.map((g) => ({ key: g.key, name: g.id })), { key: "created_at", name: "month", date_format: "%Y-%m" }];
  const fields = [
    { operator: "count", name: "count" },
    { operator: "count", name: "recent", conditions: [RECENT_CONDITION] },
  ];
  const answer = await call<{ results: StatRow[] }>(session, "stat", { query: { aggregate: [{ group: { keys, fields } }] } }, renewed);
  const number = (value: unknown) => (typeof value === "number" ? value : 0);
  const text = (value: unknown) => (value == null ? "" : String(value));
  const sums = (name: string, measure: string) => {
    const totals = new Map<string, number>();
    for (const row of answer.results) totals.set(text(row[name]), (totals.get(text(row[name])) ?? 0) + number(row[measure]));
    return totals;
  };
  const charts: Chart[] = GROUPS.map((g) => ({
    id: g.id,
    title: g.title,
    what: g.what,
    rows: [...sums(g.id, "count")]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([value, count]) => ({ label: value || "(none)", count, href: `#/users?${g.param}=${encodeURIComponent(value)}` })),
  }));
  const perMonth = sums("month", "count");
  charts.push({
    id: "signups",
    title: "Sign-ups per month",
    what: "Month",
    vertical: true,
    rows: lastMonths(new Date()).map((month) => ({ label: month, count: perMonth.get(month) ?? 0, href: `#/users?created=${month}` })),
  });
  const everyone = answer.results.reduce((total, row) => total + number(row.count), 0);
  const recent = answer.results.reduce((total, row) => total + number(row.recent), 0);
  charts.push({
    id: "access",
    title: "Last access",
    what: "Last access",
    rows: [
      { label: `Within ${IDLE_DAYS} days`, count: recent, href: "#/users?access=recent" },
      { label: `Not for ${IDLE_DAYS} days`, count: everyone - recent, href: "#/users?access=idle" },
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
