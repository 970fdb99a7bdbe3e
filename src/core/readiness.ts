/**
 * Readiness for load balancers and Kubernetes (`GET /readyz`): each check answers
 * `undefined` when fine or a reason when not. A check that does not answer within the
 * timeout counts as failed (a hung store must not hang the probe).
 */
export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

export interface ReadinessReport {
  ready: boolean;
  /** "ok" or the reason, per check. */
  checks: Record<string, string>;
}

export async function runReadiness(checks: Readonly<Record<string, ReadinessCheck>>, timeoutMs = 2_000): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const check = checks[name] as ReadinessCheck;
        const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
        return (await Promise.race([Promise.resolve(check()), timeout])) ?? "ok";
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report: ReadinessReport = { ready: true, checks: {} };
  names.forEach((name, i) => {
    const result = results[i] ?? "ok";
    report.checks[name] = result;
    if (result !== "ok") report.ready = false;
  });
  return report;
}
