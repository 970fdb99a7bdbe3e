import { concatBytes } from "./json-array.ts";

/**
 * Collects a JSON response body for one parse at the end, up to `capBytes`. Past the cap
 * it stops keeping the whole body and keeps only the last `tailBytes`, where every
 * provider puts its usage object; the chunks are kept by reference (no copy per chunk).
 */
export class CappedBody {
  private parts: Uint8Array[] = [];
  private size = 0;
  private overflowed = false;

  constructor(
    private readonly capBytes: number,
    private readonly tailBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    this.parts.push(chunk);
    this.size += chunk.byteLength;
    if (!this.overflowed && this.size > this.capBytes) this.overflowed = true;
    if (this.overflowed) this.trimToTail();
  }

  /** True when the body exceeded the cap and only its tail is kept. */
  get truncated(): boolean {
    return this.overflowed;
  }

  text(): string {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : concatBytes(this.parts, this.size);
    return new TextDecoder("utf-8").decode(bytes);
  }

  private trimToTail(): void {
    while (this.parts.length > 1 && this.size - (this.parts[0] as Uint8Array).byteLength >= this.tailBytes) {
      this.size -= (this.parts.shift() as Uint8Array).byteLength;
    }
    const first = this.parts[0];
    if (first && this.size > this.tailBytes) {
      const drop = this.size - this.tailBytes;
      this.parts[0] = first.subarray(drop);
      this.size -= drop;
    }
  }
}
