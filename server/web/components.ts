/**
 * The pieces pages are built from: labelled fields with their errors, the
 * error summary at the top of a form (GOV.UK's pattern: a linked list of
 * what to fix, focused first), a secret shown once with its copy button,
 * tables that scroll on a narrow screen, and status labels that do not rely
 * on colour alone.
 */

import { html, type SafeHtml } from "./html.ts";

/** What went wrong on a form: per field (by input name), or for the form as a whole (`form`). */
export type FieldErrors = Partial<Record<string, string>>;

export function errorSummary(errors: FieldErrors): SafeHtml {
  const entries = Object.entries(errors).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (entries.length === 0) return html``;
  return html`<div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title">
  <h2 id="error-summary-title">There is a problem</h2>
  <ul>${entries.map(([field, message]) =>
    field === "form" ? html`<li>${message}</li>` : html`<li><a href="#field-${field}">${message}</a></li>`,
  )}</ul>
</div>`;
}

export interface FieldOptions {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "url" | "number";
  value?: string | number | null;
  hint?: string;
  error?: string;
  autocomplete?: string;
  required?: boolean;
  min?: number;
  max?: number;
  inputmode?: "numeric" | "email" | "url" | "text";
}

export function field(options: FieldOptions): SafeHtml {
  const id = `field-${options.name}`;
  const described = [options.hint ? `${id}-hint` : null, options.error ? `${id}-error` : null]
    .filter(Boolean)
    .join(" ");
  return html`<div class="field">
  <label for="${id}">${options.label}</label>
  ${options.hint ? html`<span class="hint" id="${id}-hint">${options.hint}</span>` : ""}
  ${options.error ? html`<span class="field-error" id="${id}-error"><span class="visually-hidden">Error:</span> ${options.error}</span>` : ""}
  <input id="${id}" name="${options.name}" type="${options.type ?? "text"}"${
    options.value !== undefined && options.value !== null && options.type !== "password"
      ? html` value="${String(options.value)}"`
      : ""
  }${options.autocomplete ? html` autocomplete="${options.autocomplete}"` : ""}${
    options.required ? html` required` : ""
  }${options.min !== undefined ? html` min="${options.min}"` : ""}${
    options.max !== undefined ? html` max="${options.max}"` : ""
  }${options.inputmode ? html` inputmode="${options.inputmode}"` : ""}${
    described ? html` aria-describedby="${described}"` : ""
  }${options.error ? html` aria-invalid="true"` : ""}>
</div>`;
}

/** The CSRF field every form of a signed-in page carries. */
export function csrfField(csrfToken: string): SafeHtml {
  return html`<input type="hidden" name="csrf_token" value="${csrfToken}">`;
}

/** A one-button form (rotate, suspend, sign out) that posts to `action`. */
export function actionButton(
  action: string,
  label: string,
  csrfToken: string,
  options: { variant?: "secondary" | "danger"; accessibleLabel?: string } = {},
): SafeHtml {
  return html`<form method="post" action="${action}" class="inline-form">${csrfField(csrfToken)}<button type="submit"${
    options.variant ? html` class="${options.variant}"` : ""
  }${options.accessibleLabel ? html` aria-label="${options.accessibleLabel}"` : ""}>${label}</button></form>`;
}

/**
 * A secret shown exactly once (a site or agent token): in a box the reader
 * can select, with a copy button the script reveals, and a warning that it
 * will not be shown again.
 */
export function secretOnce(label: string, value: string, id: string): SafeHtml {
  return html`<div class="warning">
  <p><strong>Copy the ${label.toLowerCase()} now.</strong> It is shown only this once; we keep only a hash of it.</p>
  <p class="label" id="${id}-label">${label}</p>
  <div class="secret">
    <code id="${id}" aria-labelledby="${id}-label">${value}</code>
    <button type="button" class="secondary" data-copy="${id}" data-label="${label}" hidden>Copy</button>
  </div>
</div>`;
}

/** A table in a wrapper that scrolls sideways on a narrow screen and can be reached by keyboard. */
export function table(caption: string, headings: readonly string[], rows: readonly SafeHtml[]): SafeHtml {
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0">
<table>
  <caption>${caption}</caption>
  <thead><tr>${headings.map((heading) => html`<th scope="col">${heading}</th>`)}</tr></thead>
  <tbody>${rows}</tbody>
</table>
</div>`;
}

export function statusLabel(text: string, tone: "ok" | "bad" | "neutral"): SafeHtml {
  return html`<span class="status ${tone}">${text}</span>`;
}

export function notice(message: string | SafeHtml): SafeHtml {
  return html`<div class="notice" role="status">${message}</div>`;
}

/** `Date` in UTC, to the minute, as people read it in a table. */
export function when(ms: number | null): string {
  if (ms === null) return "never";
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
