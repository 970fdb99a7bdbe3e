/**
 * The writer's two deadlines, on the global timers (so a test's fake clock moves them): how
 * long `close` waits for a round or the spool, and how long one insert may take.
 */

/** Waits for `work` up to `ms`; true when it settled (fulfilled or rejected) in time. */
export async function settledWithin(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    // A rejection is settled too: the caller reads the outcome from its counters, not from here.
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`, or a rejection with `error()` when it has not settled within `ms`. */
export function rejectAfter<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
