/**
 * Splits a streamed top-level JSON array (`[{...}\r\n,{...}]`, how Gemini streams without
 * `alt=sse`) into its object elements as they complete, bytes split anywhere. Only the
 * element in progress is held; an element longer than `maxElementBytes` is skipped.
 */
export class JsonArraySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private elementTooLong = false;
  private readonly decoder = new TextDecoder("utf-8");

  constructor(
    private readonly onElement: (json: string) => void,
    private readonly maxElementBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    let elementStart = this.depth >= 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92 /* \ */) this.escaped = true;
        else if (c === 34 /* " */) this.inString = false;
        continue;
      }
      if (c === 34) {
        this.inString = true;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        this.depth++;
        if (this.depth === 2) elementStart = i;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        this.depth = Math.max(0, this.depth - 1);
        if (this.depth === 1 && elementStart !== -1) {
          this.keep(chunk.subarray(elementStart, i + 1));
          this.emit();
          elementStart = -1;
        }
      }
    }
    if (elementStart !== -1) this.keep(chunk.subarray(elementStart));
  }

  private keep(bytes: Uint8Array): void {
    if (this.elementTooLong) return;
    this.partsBytes += bytes.byteLength;
    if (this.partsBytes > this.maxElementBytes) {
      this.elementTooLong = true;
      this.parts = [];
      return;
    }
    this.parts.push(bytes);
  }

  private emit(): void {
    const parts = this.parts;
    const tooLong = this.elementTooLong;
    this.parts = [];
    this.partsBytes = 0;
    this.elementTooLong = false;
    if (tooLong || parts.length === 0) return;
    const json = parts.length === 1 ? this.decoder.decode(parts[0]) : this.decoder.decode(concatBytes(parts));
    this.onElement(json);
  }
}

export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
