import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Clock } from "../core/clock.ts";
import type { PortalMode } from "./portal-server.ts";

export interface PortalSession {
  id: string;
  callerId: string;
  mode: PortalMode;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeen: number;
}

/**
 * Live portal sessions (`Mcp-Session-Id`). A session belongs to the caller that opened it.
 * Idle sessions expire; expiry is checked on access and swept during requests, so no
 * timer keeps the process (or a Worker) alive. An expired id gets 404 and the client
 * re-initialises, as the spec prescribes.
 */
export class SessionStore {
  private readonly sessions = new Map<string, PortalSession>();
  private lastSweep = 0;

  constructor(
    private readonly idleMs: number,
    private readonly clock: Clock,
    /** Open sessions one caller may hold; opening one more closes that caller's least recently used. */
    private readonly maxPerCaller = 32,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Register a new session. A caller at the cap loses their least recently used session
   * (its client gets 404 and re-initialises, as the spec prescribes), so one caller can
   * hold at most `maxPerCaller` and cannot grow the portal's memory without bound.
   */
  add(session: PortalSession): void {
    session.lastSeen = this.clock.now();
    const own = [...this.sessions.values()].filter((s) => s.callerId === session.callerId);
    own.sort((a, b) => a.lastSeen - b.lastSeen);
    for (const old of own.slice(0, Math.max(0, own.length - this.maxPerCaller + 1))) void this.close(old.id);
    this.sessions.set(session.id, session);
  }

  countFor(callerId: string): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.callerId === callerId) count += 1;
    return count;
  }

  /** The live session, touched; undefined when unknown or idle past the limit (then closed). */
  get(id: string): PortalSession | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.clock.now();
    if (now - session.lastSeen > this.idleMs) {
      void this.close(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  forget(id: string): void {
    this.sessions.delete(id);
  }

  all(): PortalSession[] {
    return [...this.sessions.values()];
  }

  /** Close sessions idle past the limit; cheap enough to call on every request (runs at most every idleMs/4). */
  sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < Math.min(60_000, this.idleMs / 4)) return;
    this.lastSweep = now;
    for (const session of this.sessions.values()) if (now - session.lastSeen > this.idleMs) void this.close(session.id);
  }

  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    await session.server.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }
}
