import type { MiddlewareHandler } from "hono";
import { GatewayError } from "./errors.ts";
import type { Settings } from "./settings.ts";

/**
 * Which Host a request may name and which Origin may change state.
 *
 * - Dev mode (no real identity, a static token, a login form that approves any email) answers
 *   only for loopback host names, plus the host of GATEHOUSE_PUBLIC_URL when one is set: a
 *   DNS-rebinding page reaches 127.0.0.1 under its own name (Host: evil.example) and is refused
 *   before any route runs.
 * - In every mode a state-changing request (not GET/HEAD/OPTIONS) from a browser page of another
 *   origin is refused: an Origin header other than the gateway's own, or Sec-Fetch-Site
 *   cross-site/same-site. CLIs and SDKs send neither header, so they are unaffected. The
 *   gateway's own origin is GATEHOUSE_PUBLIC_URL; in dev mode also the (loopback) request origin.
 * - The /mcp endpoint checks Origin itself (with the portal's configured allowedOrigins), so it is left to it.
 */
export function hostGuard(settings: Pick<Settings, "authMode" | "publicUrl">): MiddlewareHandler {
  const publicOrigin = settings.publicUrl ? new URL(settings.publicUrl).origin : undefined;
  const publicHostname = settings.publicUrl ? new URL(settings.publicUrl).hostname : undefined;
  const dev = settings.authMode === "dev";
  return (c, next) => {
    const url = new URL(c.req.url);
    if (dev) {
      const hostHeader = c.req.header("host");
      const names = [url.hostname, ...(hostHeader === undefined ? [] : [hostnameOfHost(hostHeader)])];
      if (!names.every((name) => name !== undefined && (isLoopbackHostname(name) || name === publicHostname))) {
        throw new GatewayError("forbidden", "This dev-mode gateway answers only for loopback host names (127.0.0.1, localhost, [::1]). Open it as http://127.0.0.1:<port>, or set GATEHOUSE_PUBLIC_URL to the name it is reached by.");
      }
    }
    if (!SAFE_METHODS.has(c.req.method) && !isMcpPath(url.pathname)) {
      const own = dev ? [url.origin, publicOrigin] : [publicOrigin];
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      // A page with `referrer-policy: no-referrer` (the dashboard's) makes Chromium send
      // `Origin: null` on its own form posts; Sec-Fetch-Site, set by the browser alone, then
      // vouches for it. Without that header, "null" is as foreign as any other origin.
      const vouchedNull = origin === "null" && site === "same-origin";
      const foreignOrigin = origin !== undefined && !own.includes(origin) && !vouchedNull;
      const foreignSite = site !== undefined && site !== "same-origin" && site !== "none";
      if (foreignOrigin || foreignSite) {
        throw new GatewayError("forbidden", "Cross-origin request refused: a state-changing request must come from the gateway's own pages (or a client that sends no Origin, like a CLI or SDK).");
      }
    }
    return next();
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The portal endpoint itself: it checks Origin with its own allow-list (src/mcp/http.ts). */
function isMcpPath(pathname: string): boolean {
  return pathname === "/mcp";
}

/** 127.0.0.0/8, localhost and ::1 (bracketed as in a URL or bare). */
export function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase();
  return name === "localhost" || name === "[::1]" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The name part of a Host header (`127.0.0.1:8787`, `[::1]:8787`, `localhost`); undefined when it is not a host. */
export function hostnameOfHost(host: string): string | undefined {
  const trimmed = host.trim();
  // Only what a Host may hold (RFC 9110 §7.2: host [":" port]): a path, user info, a second
  // host or whitespace would be parsed away by URL and leave a loopback-looking name behind.
  if (!/^[A-Za-z0-9._~%!$&'()*+;=:[\]-]+$/.test(trimmed)) return undefined;
  try {
    return new URL(`http://${trimmed}`).hostname;
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}
