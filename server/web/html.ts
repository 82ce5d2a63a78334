/**
 * HTML built from tagged templates that escape by default.
 *
 * Every value interpolated into `html\`…\`` is escaped, unless it is itself
 * `SafeHtml` (the result of another `html` template, or of `raw()` on a
 * constant of ours). Arrays are joined, `null`, `undefined` and `false`
 * render nothing, so conditionals and lists read naturally. There is no
 * other way to put text into a page, which is what keeps a display name
 * like `<img onerror=…>` inert everywhere.
 *
 * @example
 * html`<p>Hello, ${user.email}</p>` // the email is escaped
 */

export class SafeHtml {
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Marks a string of ours (never one that came from a request or the database) as HTML. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}
