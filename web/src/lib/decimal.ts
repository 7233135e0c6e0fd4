/**
 * Exact decimals for money in the browser. An amount arrives as a decimal string, lives as a
 * BigInt count of units (10^-scale), and leaves as a decimal string: no amount is ever held in a
 * JavaScript number, whose doubles cannot hold 0.1 exactly. Pure: no DOM, no clock.
 */

/** `units` x 10^-`scale`, e.g. 150.25 is {units: 15025n, scale: 2}. Never negative. */
export interface Dec {
  readonly units: bigint;
  readonly scale: number;
}

// What the API accepts: digits, optionally a point and more digits (no sign, no exponent).
const DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;
// What a person may type: also "5." and ".5", with surrounding spaces.
const TYPED = /^([0-9]*)(?:\.([0-9]*))?$/;
const MAX_DIGITS = 38; // beyond any amount the ledger holds (19 digits each side)

const POWERS: bigint[] = [1n];

export function pow10(exponent: number): bigint {
  while (POWERS.length <= exponent) {
    POWERS.push(POWERS[POWERS.length - 1]! * 10n);
  }
  return POWERS[exponent]!;
}

/** A plain decimal string as the API writes it ("150.25"), or null for anything else. */
export function parseDecimal(text: string): Dec | null {
  const match = DECIMAL.exec(text);
  if (match === null) return null;
  return build(match[1]!, match[2] ?? "");
}

/** What a person typed in a field ("1,5" is not a decimal here; " .5 " is). */
export function parseTyped(text: string): Dec | null {
  const trimmed = text.trim();
  const match = TYPED.exec(trimmed);
  if (match === null) return null;
  const whole = match[1] ?? "";
  const fraction = match[2] ?? "";
  if (whole === "" && fraction === "") return null;
  return build(whole || "0", fraction);
}

function build(whole: string, fraction: string): Dec | null {
  if (whole.length + fraction.length > MAX_DIGITS) return null;
  const trimmed = fraction.replace(/0+$/, "");
  return { units: BigInt(whole + trimmed), scale: trimmed.length };
}

/** Units as a decimal string with exactly `scale` places: (15025n, 2) -> "150.25". */
export function formatUnits(units: bigint, scale: number): string {
  const sign = units < 0n ? "-" : "";
  const magnitude = units < 0n ? -units : units;
  if (scale === 0) return sign + magnitude.toString();
  const text = magnitude.toString().padStart(scale + 1, "0");
  return `${sign}${text.slice(0, -scale)}.${text.slice(-scale)}`;
}

/** `value` as a whole number of `step`s, or null when it is not an exact multiple. */
export function toSteps(value: Dec, step: Dec): bigint | null {
  // value / step = (v x 10^-sv) / (s x 10^-ss) = v x 10^ss / (s x 10^sv)
  const numerator = value.units * pow10(step.scale);
  const denominator = step.units * pow10(value.scale);
  if (denominator === 0n || numerator % denominator !== 0n) return null;
  return numerator / denominator;
}

/** `value` in whole steps, rounded down (how many lots 1.2345 holds). */
export function floorSteps(value: Dec, step: Dec): bigint {
  return (value.units * pow10(step.scale)) / (step.units * pow10(value.scale));
}

/** `value` expressed in units of 10^-`scale`, or null when it has finer digits than that. */
export function toUnits(value: Dec, scale: number): bigint | null {
  if (value.scale <= scale) return value.units * pow10(scale - value.scale);
  const divisor = pow10(value.scale - scale);
  return value.units % divisor === 0n ? value.units / divisor : null;
}

/** a / b rounded up, for non-negative integers (fees round in the exchange's favour). */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Drop trailing zeros of a decimal string for a message: "5.000000" -> "5". */
export function trimZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** The integer part with thousands separators: "1234567.50" -> "1,234,567.50". */
export function groupThousands(text: string): string {
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const point = body.indexOf(".");
  const whole = point < 0 ? body : body.slice(0, point);
  const rest = point < 0 ? "" : body.slice(point);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + rest;
}

/** A decimal string cut (never rounded) to at most `places` decimals, for a compact display:
 *  ("1234.567890", 2) -> "1234.56". */
export function truncateDecimals(text: string, places: number): string {
  const point = text.indexOf(".");
  if (point < 0) return text;
  return places === 0 ? text.slice(0, point) : text.slice(0, point + 1 + places);
}

/** Compare two decimal strings exactly: -1, 0 or 1 (an unparsable one counts as zero). */
export function compareDecimal(a: string, b: string): number {
  const x = parseDecimal(a) ?? { units: 0n, scale: 0 };
  const y = parseDecimal(b) ?? { units: 0n, scale: 0 };
  const scale = Math.max(x.scale, y.scale);
  const left = x.units * pow10(scale - x.scale);
  const right = y.units * pow10(scale - y.scale);
  return left < right ? -1 : left > right ? 1 : 0;
}
