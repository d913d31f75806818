// Form pieces shared by the pages: a labelled input whose error (the API's message naming this
// field) is shown beside it and announced.

import type { ComponentChildren } from "preact";

export function Field(props: {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | undefined;
  type?: "text" | "password" | "email";
  required?: boolean;
  autocomplete?: string;
  hint?: string;
}) {
  const errorId = `${props.name}-error`;
  const hintId = `${props.name}-hint`;
  const described = [props.hint ? hintId : "", props.error ? errorId : ""].filter(Boolean).join(" ");
  const common = {
    id: `field-${props.name}`,
    name: props.name,
    value: props.value,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.onInput(e.currentTarget.value),
    required: props.required ?? false,
    autocomplete: props.autocomplete ?? "off",
    "aria-invalid": props.error ? ("true" as const) : undefined,
    "aria-describedby": described || undefined,
  };
  return (
    <div class="field">
      <label for={common.id}>{props.label}</label>
      {props.type === "password" ? (
        <input type="password" {...common} />
      ) : props.type === "email" ? (
        <input type="email" {...common} />
      ) : (
        <input type="text" {...common} />
      )}
      {props.hint && (
        <span id={hintId} class="note">
          {props.hint}
        </span>
      )}
      {props.error && (
        <span id={errorId} class="error">
          {props.error}
        </span>
      )}
    </div>
  );
}

export function Alert({ children }: { children: ComponentChildren }) {
  return (
    <p class="error" role="alert">
      {children}
    </p>
  );
}

export function Status({ children }: { children: ComponentChildren }) {
  return (
    <p class="ok" role="status">
      {children}
    </p>
  );
}

/**
 * Runs a form's `work` after `clear` (its earlier message); a failure goes to `failed`. The
 * pattern of every section that shows one message of its own.
 */
export async function attempt(clear: () => void, work: () => Promise<void>, failed: (failure: unknown) => void) {
  clear();
  try {
    await work();
  } catch (failure) {
    failed(failure);
  }
}
