import { GatewayError } from "../core/errors.ts";

export interface DayRange {
  /** Inclusive, YYYY-MM-DD (UTC). */
  from: string;
  /** Inclusive, YYYY-MM-DD (UTC). */
  to: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_RANGE_DAYS = 366;

/** True for a real UTC calendar day as YYYY-MM-DD: "2026-02-30" and "2026-13-01" are not (Date.parse rolls the first over into March). */
export function isCalendarDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const t = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === value;
}

/** The range from the query string; defaults to the last 30 days up to today (UTC). */
export function parseRange(from: string | undefined, to: string | undefined, now: number): DayRange {
  const today = new Date(now).toISOString().slice(0, 10);
  const end = to || today;
  const start = from || shiftDay(end, -29);
  for (const [name, value] of [
    ["from", start],
    ["to", end],
  ] as const) {
    if (!isCalendarDay(value)) {
      throw new GatewayError("bad_request", `"${name}" must be a date as YYYY-MM-DD, got "${value}".`);
    }
  }
  if (start > end) throw new GatewayError("bad_request", `"from" (${start}) is after "to" (${end}).`);
  if (daysBetween(start, end) + 1 > MAX_RANGE_DAYS) throw new GatewayError("bad_request", `The range is longer than ${MAX_RANGE_DAYS} days; pick a shorter one.`);
  return { from: start, to: end };
}

export function shiftDay(day: string, by: number): string {
  const t = Date.parse(`${day}T00:00:00Z`) + by * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** Every day of the range, so charts show days without traffic as zero. */
export function daysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (let d = range.from; d <= range.to; d = shiftDay(d, 1)) days.push(d);
  return days;
}
