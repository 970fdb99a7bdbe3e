/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of milliseconds, then randomness. The
 * ledger is keyed by request id, and ids that grow with time append to the index instead
 * of landing at random pages, which made SQLite inserts several times cheaper.
 */
const random = new Uint8Array(10);
const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
let lastMs = 0;
let sequence = 0;

export function uuidv7(now: number = Date.now()): string {
  crypto.getRandomValues(random);
  // Within one millisecond, a counter in rand_a keeps ids strictly increasing.
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs++;
    now = lastMs;
  } else {
    lastMs = now;
    sequence = ((random[0] as number) << 4) & 0x7ff;
  }
  const ms = now;
  const b = new Uint8Array(16);
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  b[7] = sequence & 0xff;
  b[8] = 0x80 | ((random[2] as number) & 0x3f);
  for (let i = 9; i < 16; i++) b[i] = random[i - 6] as number;
  let out = "";
  for (let i = 0; i < 16; i++) {
    out += hex[b[i] as number];
    if (i === 3 || i === 5 || i === 7 || i === 9) out += "-";
  }
  return out;
}
