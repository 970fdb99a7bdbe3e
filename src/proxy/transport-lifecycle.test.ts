import { afterEach, describe, expect, it, vi } from "vitest";
import { AnswerLifecycle, SilenceTimer } from "./transport-lifecycle.ts";
import type { ResponseTap } from "./transport.ts";

function recordingTap(): ResponseTap & { ends: Array<[string, string | undefined]> } {
  const ends: Array<[string, string | undefined]> = [];
  return { ends, onResponse: () => undefined, onChunk: () => undefined, onEnd: (outcome, failure) => ends.push([outcome, failure]) };
}

describe("AnswerLifecycle", () => {
  it("tells the tap of the first end only, and settles once", () => {
    const tap = recordingTap();
    let settled = 0;
    const life = new AnswerLifecycle(tap, () => settled++);
    expect(life.end("upstream_failed", "upstream_idle_timeout")).toBe(true);
    expect(life.end("client_aborted")).toBe(false);
    expect(life.end("completed")).toBe(false);
    life.discard();
    expect(tap.ends).toEqual([["upstream_failed", "upstream_idle_timeout"]]);
    expect(settled).toBe(1);
    expect(life.ended).toBe(true);
  });

  it("a discarded answer (retry, rejected forward) never reaches the tap", () => {
    const tap = recordingTap();
    let settled = 0;
    const life = new AnswerLifecycle(tap, () => settled++);
    life.discard();
    expect(life.end("client_aborted")).toBe(false);
    expect(tap.ends).toEqual([]);
    expect(settled).toBe(1);
  });
});

describe("SilenceTimer (fake timers)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires once the upstream has been silent for the limit, counted from the last byte", () => {
    vi.useFakeTimers();
    let fired = 0;
    const silence = new SilenceTimer(1_000, () => fired++);
    silence.arm();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(900);
      silence.arm();
    }
    expect(fired).toBe(0);
    vi.advanceTimersByTime(999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(1);
  });

  it("does not count time paused for backpressure, and never fires after stop or without a limit", () => {
    vi.useFakeTimers();
    let fired = 0;
    const silence = new SilenceTimer(1_000, () => fired++);
    silence.arm();
    silence.pause();
    vi.advanceTimersByTime(5_000);
    expect(fired).toBe(0);
    silence.arm();
    silence.stop();
    vi.advanceTimersByTime(5_000);
    expect(fired).toBe(0);
    const unlimited = new SilenceTimer(undefined, () => fired++);
    unlimited.arm();
    vi.advanceTimersByTime(1e9);
    expect(fired).toBe(0);
  });
});
