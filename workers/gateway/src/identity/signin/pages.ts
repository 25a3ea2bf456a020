import type { Context } from "hono";
import type { GatewayEnv } from "../../types";

/** The hosted login pages: plain server-rendered HTML, no script, one inline stylesheet allowed by nonce. */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1f24}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #8a919b;border-radius:4px;font:inherit}
input[aria-invalid=true]{border-color:#b3261e}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}
button.secondary{background:#e4e7eb;color:#1b1f24}
button:focus,input:focus,a:focus{outline:3px solid #f5a623;outline-offset:2px}
.error{color:#b3261e}
.note{color:#4a525c;font-size:.9rem}
ul{padding-left:1.2rem}
`;

/** Headers every page carries: no framing, no script, forms only to ourselves and `formTargets`. */
export function pageHeaders(c: Context<GatewayEnv>, nonce: string, formTargets: string[] = [], opts: { script?: boolean } = {}) {
  const formAction = ["'self'", ...formTargets].join(" ");
  // A page with the passkey script: that one script (by nonce) and its calls to our own origin.
  const script = opts.script ? ` script-src 'nonce-${nonce}'; connect-src 'self';` : "";
  c.header(
    "content-security-policy",
    `default-src 'none'; style-src 'nonce-${nonce}';${script} img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header("x-frame-options", "DENY");
  c.header("x-content-type-options", "nosniff");
  // Not no-referrer: under it browsers send `Origin: null` with the page's own form posts, which the CSRF check refuses.
  c.header("referrer-policy", "same-origin");
  c.header("cache-control", "no-store");
}

export function page(
  c: Context<GatewayEnv>,
  status: 200 | 400 | 403 | 429,
  title: string,
  body: string,
  formTargets: string[] = [],
  opts: { script?: string } = {},
) {
  const nonce = crypto.randomUUID().replaceAll("-", "");
  pageHeaders(c, nonce, formTargets, { script: Boolean(opts.script) });
  const script = opts.script ? `\n<script nonce="${nonce}" src="${escapeHtml(opts.script)}" defer></script>` : "";
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · Buildly</title>
<style nonce="${nonce}">${STYLE}</style>${script}</head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
  return c.html(html, status);
}

export function hiddenFields(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v!)}">`)
    .join("\n");
}

/** An error the user can read, for requests that cannot safely go back to the client. */
export function errorPage(c: Context<GatewayEnv>, message: string, status: 400 | 403 | 429 = 400) {
  return page(c, status, "Sign-in cannot continue", `<p role="alert" class="error">${escapeHtml(message)}</p>`);
}
