/**
 * Candles from `GET /api/v1/klines` (arrays) and `kline_<i>@M` (objects) in one shape, and the
 * merge of a live candle into the history. Pure.
 */

export const INTERVALS = ["1m", "5m", "15m", "1h", "1d"] as const;
export type Interval = (typeof INTERVALS)[number];

export interface Candle {
  readonly openTime: number; // epoch ms
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string; // base
  readonly trades: number;
}

/** `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades]` */
export type KlineRow = [number, string, string, string, string, string, number, string, number];

export interface KlineMessage {
  interval: string;
  openTime: number;
  closeTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quoteVolume: string;
  trades: number;
}

export function fromRow(row: KlineRow): Candle {
  const [openTime, open, high, low, close, volume, , , trades] = row;
  return { openTime, open, high, low, close, volume, trades };
}

export function fromMessage(message: KlineMessage): Candle {
  const { openTime, open, high, low, close, volume, trades } = message;
  return { openTime, open, high, low, close, volume, trades };
}

/**
 * `candles` (oldest first) with `candle` in its place: the last one replaced when it is the same
 * period, appended when newer, an older period replaced only if present (a live candle never
 * moves history backwards). A new list; the one given is left as it was.
 */
export function mergeCandle(candles: readonly Candle[], candle: Candle): Candle[] {
  const last = candles[candles.length - 1];
  if (last === undefined || candle.openTime > last.openTime) return [...candles, candle];
  if (candle.openTime === last.openTime) return [...candles.slice(0, -1), candle];
  const index = candles.findIndex((c) => c.openTime === candle.openTime);
  if (index < 0) return candles.slice();
  const next = candles.slice();
  next[index] = candle;
  return next;
}
