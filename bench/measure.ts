import http from "node:http";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

export interface Target {
  url: string;
  headers: Record<string, string>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });

/** One POST; resolves with (time to first body byte, total time) in ms. */
export function timedPost(target: Target, body: string): Promise<{ ttfb: number; total: number; status: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfb = -1;
    const req = http.request(target.url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...target.headers } }, (res) => {
      res.on("data", () => {
        if (ttfb < 0) ttfb = performance.now() - started;
      });
      res.on("end", () => resolve({ ttfb, total: performance.now() - started, status: res.statusCode ?? 0 }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export async function sequential(target: Target, body: string, count: number, pick: "ttfb" | "total"): Promise<number[]> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await timedPost(target, body);
    if (r.status !== 200) throw new Error(`${target.url} answered ${r.status}`);
    values.push(pick === "ttfb" ? r.ttfb : r.total);
  }
  return values.sort((a, b) => a - b);
}

export async function throughput(target: Target, body: string, seconds: number, connections: number): Promise<{ rps: number; total: number; non2xx: number; errors: number }> {
  const result = await autocannon({
    url: target.url,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body,
    connections,
    duration: seconds,
  });
  return { rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors };
}

export async function fixedCount(target: Target, body: string, amount: number, connections: number): Promise<{ non2xx: number; errors: number }> {
  const result = await autocannon({ url: target.url, method: "POST", headers: { "content-type": "application/json", ...target.headers }, body, connections, amount });
  return { non2xx: result.non2xx, errors: result.errors };
}

/** Resident memory of a process in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Opens `count` concurrent streams and samples the process's RSS until all end; returns the peak. */
export async function peakDuringStreams(target: Target, body: string, count: number, pid: number): Promise<{ peakMiB: number; failed: number }> {
  let peak = rssMiB(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 50);
  const results = await Promise.allSettled(Array.from({ length: count }, () => timedPost(target, body)));
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(pid));
  const failed = results.filter((r) => r.status === "rejected" || r.value.status !== 200).length;
  return { peakMiB: peak, failed };
}
