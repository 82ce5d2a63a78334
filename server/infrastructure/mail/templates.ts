/**
 * The messages the server sends: a subject, a plain-text body and a simple
 * HTML alternative. The HTML loads nothing remote (no images, fonts or
 * styles from elsewhere: mail clients block them, and they would tell a
 * third party when the message was opened); it is inline-styled and says
 * exactly what the text says.
 *
 * @example
 * const { subject, text, html } = passwordResetMessage("https://id.example/reset-password?token=…", 30);
 */

export interface MailMessage {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

function htmlDocument(title: string, body: string): string {
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:24px;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1a1a1a;background:#ffffff">',
    '<div style="max-width:520px;margin:0 auto;line-height:1.5">',
    body,
    '<p style="color:#666;font-size:13px">This message was sent automatically by a LIME identity server. Please do not reply.</p>',
    "</div></body></html>",
  ].join("\n");
}

function minutes(count: number): string {
  return count === 1 ? "1 minute" : `${count} minutes`;
}

/** The six-digit code that confirms an owner's address at registration. */
export function verificationCodeMessage(code: string): MailMessage {
  const subject = "Confirm your email address for LIME";
  const text = [
    "Welcome to LIME.",
    "",
    "Enter this code to confirm your email address:",
    "",
    `    ${code}`,
    "",
    "The code works once and expires soon; you can ask for a new one.",
    "If you did not create a LIME account, ignore this message: without the code nobody can use your address.",
  ].join("\n");
  const html = htmlDocument(
    subject,
    [
      "<p>Welcome to LIME.</p>",
      "<p>Enter this code to confirm your email address:</p>",
      `<p style="font-size:28px;font-weight:bold;letter-spacing:6px;font-family:ui-monospace,monospace">${escapeHtml(code)}</p>`,
      "<p>The code works once and expires soon; you can ask for a new one.</p>",
      "<p>If you did not create a LIME account, ignore this message: without the code nobody can use your address.</p>",
    ].join("\n"),
  );
  return { subject, text, html };
}

/** The one-time link that lets an owner who forgot their password set a new one. */
export function passwordResetMessage(link: string, validForMinutes: number): MailMessage {
  const subject = "Reset your LIME password";
  const validity = `The link works once, for ${minutes(validForMinutes)}. Setting a new password signs you out everywhere.`;
  const ignore =
    "If you did not ask for this, ignore this message: your password stays as it is, and nobody can use the link without access to your mailbox.";
  const text = [
    "Someone, hopefully you, asked to reset the password of the LIME account for this address.",
    "",
    "Open this link to choose a new password:",
    "",
    link,
    "",
    validity,
    ignore,
  ].join("\n");
  const href = escapeHtml(link);
  const html = htmlDocument(
    subject,
    [
      "<p>Someone, hopefully you, asked to reset the password of the LIME account for this address.</p>",
      `<p><a href="${href}" style="display:inline-block;padding:10px 18px;background:#2f6f3e;color:#ffffff;text-decoration:none;border-radius:4px">Choose a new password</a></p>`,
      `<p style="font-size:13px;word-break:break-all">Or copy this address into your browser:<br>${href}</p>`,
      `<p>${escapeHtml(validity)}</p>`,
      `<p>${escapeHtml(ignore)}</p>`,
    ].join("\n"),
  );
  return { subject, text, html };
}
