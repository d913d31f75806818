// The public API, as the console calls it: JSON POSTs to the same origin, errors as the SPEC's
// `{"detail": {"code", "message"}}`, read into an ApiError that keeps the key a message names
// (so a form can show it beside its field).

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field the message names (`key = …`), if any. */
  readonly key: string | undefined;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.key = /\(key = ([^,)]+)/.exec(message)?.[1];
  }
}

export async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "ERROR_NETWORK", "The service cannot be reached. Check the connection and try again.");
  }
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = (parsed as { detail?: { code?: string; message?: string } } | null)?.detail;
    throw new ApiError(response.status, detail?.code ?? "ERROR_UNKNOWN", detail?.message ?? response.statusText);
  }
  return parsed as T;
}

/** A sentence for an error a person reads (codes stay for the logs and tests). */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  // A message about one field: its reason, shown beside that field.
  const reason = error.key ? /reason = (.+)\)$/.exec(error.message)?.[1] : undefined;
  if (reason) return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`;
  switch (error.code) {
    case "ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED":
      return "This is the domain's last enabled administrator: make another user an administrator first.";
    case "ERROR_PERMISSION_DENIED":
      return "You are not allowed to do this.";
    case "ERROR_CONFLICT":
      return "Someone changed this user at the same time. Reload and try again.";
    default:
      return error.message;
  }
}
