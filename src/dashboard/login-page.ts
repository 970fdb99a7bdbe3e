import { esc, layout } from "./html.ts";

export function loginPage(message?: string): string {
  return layout(
    "Gatehouse · sign in",
    `<main style="max-width:520px;margin:60px auto">
<section>
<h1>Gatehouse dashboard</h1>
<p class="muted">Paste a gateway token of a dashboard admin: a member of <code>policy.dashboard.adminGroups</code>, by default <code>admin</code> (in dev mode: the dev token <code>gatehouse serve</code> prints, or <code>gatehouse token issue --email you@example.com --group admin</code>). It is kept in an HttpOnly cookie for this browser only.</p>
${message ? `<p class="error" role="alert" data-test="login-error">${esc(message)}</p>` : ""}
<form method="post" action="/dashboard/login" class="inline">
<input type="password" name="token" autocomplete="off" placeholder="token" required style="flex:1" aria-label="token">
<button type="submit">Sign in</button>
</form>
</section></main>`,
  );
}

export function forbiddenPage(message: string): string {
  return layout(
    "Gatehouse · forbidden",
    `<main style="max-width:520px;margin:60px auto"><section><h1>Not allowed</h1><p class="error" data-test="forbidden">${esc(message)}</p><form method="post" action="/dashboard/logout"><button class="secondary">Sign out</button></form></section></main>`,
  );
}
