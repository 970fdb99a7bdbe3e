/**
 * A minimal Streamable HTTP MCP client (initialize, then JSON-RPC requests on the session)
 * for load tests: the SDK client compiles a validator for every tool schema it lists, which
 * with 50 clients in the portal's own process would measure the clients, not the portal.
 */
export class RawMcpClient {
  private sessionId: string | undefined;
  private nextId = 1;

  private constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  static async connect(url: string, token: string): Promise<RawMcpClient> {
    const client = new RawMcpClient(url, token);
    await client.request("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw-soak", version: "1.0.0" } });
    await client.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    return client;
  }

  /** The result, or throws with the JSON-RPC error message. */
  async request<T = Record<string, unknown>>(method: string, params: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const res = await this.post({ jsonrpc: "2.0", id, method, params });
    const id0 = res.headers.get("mcp-session-id");
    if (id0) this.sessionId = id0;
    const text = await res.text();
    const messages = (res.headers.get("content-type") ?? "").includes("text/event-stream")
      ? text
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trim())
          .filter((data) => data.length > 0)
          .map((data) => JSON.parse(data) as { id?: number; result?: T; error?: { message: string } })
      : [JSON.parse(text) as { id?: number; result?: T; error?: { message: string } }];
    const answer = messages.find((m) => m.id === id);
    if (!answer) throw new Error(`no answer to ${method} (HTTP ${res.status})`);
    if (answer.error) throw new Error(answer.error.message);
    return answer.result as T;
  }

  async close(): Promise<void> {
    if (!this.sessionId) return;
    await fetch(this.url, { method: "DELETE", headers: this.headers() }).then((r) => r.body?.cancel());
  }

  private headers(): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      ...(this.sessionId ? { "mcp-session-id": this.sessionId } : {}),
    };
  }

  private post(message: Record<string, unknown>): Promise<Response> {
    return fetch(this.url, { method: "POST", headers: this.headers(), body: JSON.stringify(message) });
  }
}
