/**
 * Display formatting that is not a market's own: 24-hour change, times, thousands. Exact: the
 * change is integer arithmetic on the decimal strings.
 */

import { groupThousands, parseDecimal, pow10 } from "./decimal";

export interface Change {
  readonly text: string; // "+1.25%", "-0.40%", "0.00%"
  readonly direction: -1 | 0 | 1;
}

/** (last - open) / open as a percentage with two decimals, rounded half away from zero. */
export function changePercent(open: string | null, last: string | null): Change | null {
  if (open === null || last === null) return null;
  const from = parseDecimal(open);
  const to = parseDecimal(last);
  if (from === null || to === null || from.units === 0n) return null;
  const scale = Math.max(from.scale, to.scale);
  const a = from.units * pow10(scale - from.scale);
  const b = to.units * pow10(scale - to.scale);
  const difference = b - a;
  const magnitude = difference < 0n ? -difference : difference;
  // hundredths of a percent: |b - a| x 10000 / a, rounded half up
  const hundredths = (magnitude * 20000n + a) / (2n * a);
  const whole = hundredths / 100n;
  const fraction = (hundredths % 100n).toString().padStart(2, "0");
  const direction = hundredths === 0n ? 0 : difference < 0n ? -1 : 1;
  const sign = direction > 0 ? "+" : direction < 0 ? "-" : "";
  return { text: `${sign}${groupThousands(whole.toString())}.${fraction}%`, direction };
}

function two(value: number): string {
  return value.toString().padStart(2, "0");
}

/** HH:MM:SS in the trader's own time zone. */
export function clockTime(ms: number): string {
  const date = new Date(ms);
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** YYYY-MM-DD HH:MM:SS in the trader's own time zone. */
export function dateTime(ms: number): string {
  const date = new Date(ms);
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day} ${clockTime(ms)}`;
}

/** A basis-point rate as a percentage: 20 -> "0.20%". */
export function bpsPercent(bps: number): string {
  const whole = Math.trunc(bps / 100);
  return `${whole}.${two(bps % 100)}%`;
}

/** part / whole as a percentage with two decimals, rounded half up ("0.20%"). */
export function ratioPercent(part: bigint, whole: bigint): string {
  if (whole <= 0n) return "";
  const hundredths = (part * 20000n + whole) / (2n * whole);
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, "0")}%`;
}
