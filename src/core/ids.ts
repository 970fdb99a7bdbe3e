/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of milliseconds, then randomness. The
 * ledger is keyed by request id, and ids that grow with time append to the index instead
 * of landing at random pages. Built on crypto.randomUUID (native, and much cheaper than
 * filling a buffer per id): its variant bits and random tail are kept, the head is
 * replaced by the timestamp, the version and a counter.
 */
let lastMs = 0;
let sequence = 0;
// The id's first 15 characters (48-bit millisecond timestamp, dashes, version digit) for the
// last millisecond used: several ids share one millisecond under load.
let headMs = -1;
let head = "";

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
  if (now !== headMs) {
    headMs = now;
    // Two 24-bit halves: hex of a small integer is cheap, of a 48-bit double (Number#toString(16)) ~2 µs.
    const ms = hex(Math.floor(now / 0x1000000), 6) + hex(now % 0x1000000, 6);
    head = `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7`;
  }
  return `${head}${hex(sequence, 3)}${random.slice(18)}`;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}
