import { useState } from "preact/hooks";
import { ApiError, describe } from "./api";
import { Alert, Field } from "./fields";
import { call, type Session } from "./session";
import type { User } from "./users";

export type ProfileField = "name" | "email" | "language" | "timezone" | "tags";
export const ALL_FIELDS: ProfileField[] = ["name", "email", "language", "timezone", "tags"];

function tagText(tags: Record<string, unknown>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

/**
 * The profile form: the `fields` given, sent with `update` (only those). The API's message
 * about a field is shown at that field.
 */
export function Profile({
  session,
  user,
  renewed,
  saved,
  fields,
}: {
  session: Session;
  user: User;
  renewed: (s: Session) => void;
  saved: (u: User) => void;
  fields: ProfileField[];
}) {
  const [values, setValues] = useState<Record<ProfileField, string>>({
    name: user.name,
    email: user.email,
    language: user.language,
    timezone: user.timezone,
    tags: tagText(user.tags),
  });
  const [error, setError] = useState<{ key: string | undefined; text: string } | null>(null);
  const set = (field: ProfileField) => (value: string) => setValues((now) => ({ ...now, [field]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const body: Record<string, unknown> = { user_id: user.user_id };
    for (const field of fields) {
      if (field !== "tags") body[field] = values[field];
    }
    if (fields.includes("tags")) {
      const parsed: Record<string, string> = {};
      for (const pair of values.tags.split(",").map((p) => p.trim()).filter(Boolean)) {
        const at = pair.indexOf("=");
        if (at < 1) {
          setError({ key: "tags", text: `"${pair}" is not key=value.` });
          return;
        }
        parsed[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
      }
      body.tags = parsed;
    }
    try {
      saved(await call<User>(session, "update", body, renewed));
    } catch (failure) {
      const key = failure instanceof ApiError ? failure.key?.split(".")[0] : undefined;
      setError({ key, text: describe(failure) });
    }
  };
  const at = (field: string) => (error?.key === field ? error.text : undefined);
  const shown = (field: ProfileField) => fields.includes(field);
  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <form onSubmit={submit} class="grid">
        {shown("name") && <Field label="Name" name="name" value={values.name} onInput={set("name")} error={at("name")} />}
        {shown("email") && <Field label="Email" name="email" type="email" value={values.email} onInput={set("email")} error={at("email")} />}
        {shown("language") && (
          <Field label="Language" name="language" value={values.language} onInput={set("language")} error={at("language")} hint="en, ko, ja, …" />
        )}
        {shown("timezone") && (
          <Field
            label="Timezone"
            name="timezone"
            value={values.timezone}
            onInput={set("timezone")}
            error={at("timezone")}
            hint="An IANA name: UTC, Asia/Seoul"
          />
        )}
        {shown("tags") && <Field label="Tags" name="tags" value={values.tags} onInput={set("tags")} error={at("tags")} hint="key=value, separated by commas" />}
        {error && !fields.includes(error.key as ProfileField) && <Alert>{error.text}</Alert>}
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
