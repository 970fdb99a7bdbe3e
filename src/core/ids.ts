/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of milliseconds, then randomness. The
 * ledger is keyed by request id, and ids that grow with time append to the index instead
 * of landing at random pages. Built on crypto.randomUUID (native, and much cheaper than
 * filling a buffer per id): its variant bits and random tail are kept, the head is
 * replaced by the timestamp, the version and a counter.
 */
let lastMs = 0;
let sequence = 0;

export function uuidv7(now: number = Date.now()): string {
  const random = crypto.randomUUID();
  // Within one millisecond a 12-bit counter keeps ids strictly increasing.
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      sequence = 0;
      lastMs++;
    }
    now = lastMs;
  } else {
    lastMs = now;
    // Start each millisecond low in the counter's range so increments do not overflow it.
    sequence = Number.parseInt(random.slice(15, 17), 16) & 0x7f;
  }
  const ms = now.toString(16).padStart(12, "0");
  const seq = sequence.toString(16).padStart(3, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${seq}${random.slice(18)}`;
}
