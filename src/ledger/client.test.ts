import { describe, expect, it } from "vitest";
import { classifyUserAgent, clientOf, MAX_CLIENT_VERSION, MAX_SESSION_ID, sanitizeSessionId } from "./client.ts";

describe("the client a user agent names", () => {
  // Each as the client sends it (read from its npm package or source, see docs/usage-and-pricing.md).
  it.each([
    ["opencode/1.18.33 ai-sdk/provider-utils/3.0.9 runtime/bun/1.3.0", "opencode", "1.18.33"],
    ["claude-cli/2.1.332 (external, cli)", "claude-code", "2.1.332"],
    ["claude-cli/2.1.332 (external, sdk-ts)", "claude-code", "2.1.332"],
    ["codex_cli_rs/0.171.0 (Ubuntu 24.4.0; x86_64) xterm-256color", "codex", "0.171.0"],
    ["codex_exec/0.171.0 (Mac OS 15.1.0; arm64) iTerm.app/3.5.0", "codex", "0.171.0"],
    ["codex_vscode/0.171.0-alpha.2 (Windows 11; x86_64) vscode/1.106.0", "codex", "0.171.0-alpha.2"],
    ["GeminiCLI/0.61.0/gemini-3-pro-preview (linux; x64; terminal)", "gemini-cli", "0.61.0"],
    ["GeminiCLI-zed/0.61.0/gemini-3-flash-preview (darwin; arm64; zed)", "gemini-cli", "0.61.0"],
    ["OpenAI/JS 6.49.0", "sdk", "openai-js/6.49.0"],
    ["AsyncOpenAI/Python 2.8.0", "sdk", "openai-python/2.8.0"],
    ["AzureOpenAI/JS 6.49.0", "sdk", "openai-js/6.49.0"],
    ["Anthropic/JS 1.15.0", "sdk", "anthropic-js/1.15.0"],
    ["AsyncAnthropic/Python 0.72.0", "sdk", "anthropic-python/0.72.0"],
    ["google-genai-sdk/2.32.0 gl-node/v20.19.5", "sdk", "google-genai-node/2.32.0"],
    ["google-genai-sdk/1.52.0 gl-python/3.12.3", "sdk", "google-genai-python/1.52.0"],
    ["curl/8.5.0", "other", "curl/8.5.0"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "other", "Mozilla/5.0"],
    ["", "other", null],
  ] as const)("%s → %s %s", (ua, client, version) => {
    expect(classifyUserAgent(ua)).toEqual({ client, clientVersion: version });
  });

  it("no user agent at all is other, with no version", () => {
    expect(clientOf({})).toEqual({ client: "other", clientVersion: null, sessionId: null });
  });

  it("a name later in the string does not count: a client is named at the start, as every one of them does", () => {
    expect(classifyUserAgent("evil/1.0 claude-cli/2.1.0").client).toBe("other");
    expect(classifyUserAgent("xopencode/1.0").client).toBe("other");
    expect(classifyUserAgent("OpenAI/JSX 1.0").client).toBe("other");
  });

  it("a name without a version is not the client (no client sends one)", () => {
    expect(classifyUserAgent("opencode").client).toBe("other");
    expect(classifyUserAgent("claude-cli/ (external, cli)").client).toBe("other");
  });

  it("an attacker's 1 MB user agent is read only at its head, and what is stored is bounded and printable", () => {
    const huge = `opencode/1.${"9".repeat(1_000_000)}`;
    const started = performance.now();
    const { client, clientVersion } = classifyUserAgent(huge);
    expect(performance.now() - started).toBeLessThan(50);
    expect(client).toBe("opencode");
    expect(clientVersion?.length).toBeLessThanOrEqual(MAX_CLIENT_VERSION);
    const other = classifyUserAgent("a".repeat(1_000_000));
    expect(other).toEqual({ client: "other", clientVersion: null });
  });

  it("markup, quotes and control characters in the user agent never reach the version", () => {
    for (const ua of ["claude-cli/2.1.0<script>alert(1)</script>", "codex_cli_rs/0.1\u0000\u001b[31m", 'curl/8"><img src=x onerror=alert(1)>', '=HYPERLINK("x")/1.0', "opencode/1.0\r\nx-injected: 1"]) {
      const { clientVersion } = classifyUserAgent(ua);
      if (clientVersion !== null) expect(clientVersion).toMatch(/^[A-Za-z0-9._+/-]+$/);
    }
    expect(classifyUserAgent("claude-cli/2.1.0<script>").clientVersion).toBe("2.1.0");
  });
});

describe("the client's session id", () => {
  it("is read from each client's own header", () => {
    expect(clientOf({ "user-agent": "claude-cli/2.1.332 (external, cli)", "x-claude-code-session-id": "0e4f6c1c-1c7a-4f0e-9a53-6b7f2d7e6a10" }).sessionId).toBe("0e4f6c1c-1c7a-4f0e-9a53-6b7f2d7e6a10");
    expect(clientOf({ "x-session-id": "ses_01JBZ3Q9X" }).sessionId).toBe("ses_01JBZ3Q9X");
    expect(clientOf({ session_id: "019a-codex" }).sessionId).toBe("019a-codex");
    expect(clientOf({ "session-id": "019a-codex-dash" }).sessionId).toBe("019a-codex-dash");
    expect(clientOf({ "x-session-id": ["first", "second"] }).sessionId).toBe("first");
  });

  it("the first header present decides, in a fixed order: a bad value there is not replaced by another header's", () => {
    expect(clientOf({ "x-claude-code-session-id": "cc", "x-session-id": "oc" }).sessionId).toBe("cc");
    expect(clientOf({ "x-claude-code-session-id": "<b>", "x-session-id": "oc" }).sessionId).toBeNull();
  });

  it("is dropped, not cut or cleaned, when it is too long or has anything outside the id charset", () => {
    expect(sanitizeSessionId("a".repeat(MAX_SESSION_ID))).toBe("a".repeat(MAX_SESSION_ID));
    expect(sanitizeSessionId("a".repeat(MAX_SESSION_ID + 1))).toBeNull();
    expect(sanitizeSessionId("a".repeat(1_000_000))).toBeNull();
    for (const bad of ["<script>", 'a"b', "a b", "a\u0000b", "a\nb", "a\u001bb", "sess\u202eion", "=cmd|x", "", "   "]) expect(sanitizeSessionId(bad), JSON.stringify(bad)).toBeNull();
    expect(sanitizeSessionId("  padded  ")).toBe("padded");
  });
});
