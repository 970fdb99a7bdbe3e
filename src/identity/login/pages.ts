/** Minimal server-rendered pages for the browser step of `gatehouse login`. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Gatehouse</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}
code{font-size:1.4rem;letter-spacing:.1em}input,button{font:inherit;padding:.4rem .6rem}button{cursor:pointer}
.muted{color:#666}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function enterCodePage(message?: string): string {
  return page(
    "Sign in to Gatehouse",
    `${message ? `<p>${escapeHtml(message)}</p>` : ""}
<form method="get" action="/auth/device/verify">
<label>Code shown in your terminal <input name="user_code" autocomplete="off" autofocus required></label>
<button type="submit">Continue</button></form>`,
  );
}

/** Asks the user to confirm the code matches their terminal: a phished link alone must not sign anyone in. */
export function confirmPage(userCode: string, mode: "oidc" | "dev", csrf: string): string {
  const devField =
    mode === "dev"
      ? `<p class="muted">Dev mode: no identity provider; type the email to sign in as.</p>
<p><label>Email <input type="email" name="email" required autocomplete="email"></label></p>`
      : "";
  return page(
    "Confirm sign-in",
    `<p>Check that your terminal shows this code:</p><p><code id="user-code">${escapeHtml(userCode)}</code></p>
<form method="post" action="/auth/device/verify">
<input type="hidden" name="user_code" value="${escapeHtml(userCode)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">${devField}
<button type="submit" name="action" value="approve" id="approve">Continue</button>
<button type="submit" name="action" value="deny" id="deny">This is not me</button></form>`,
  );
}

export function donePage(email: string): string {
  return page("You are signed in", `<p id="done">Signed in as <strong>${escapeHtml(email)}</strong>. You can close this tab and return to your terminal.</p>`);
}

export function messagePage(title: string, message: string): string {
  return page(title, `<p>${escapeHtml(message)}</p>`);
}
