/**
 * A market's rules in the browser, as the exchange applies them (cryptex.markets): prices are
 * whole ticks, quantities whole lots, notionals and fees whole quote units, all BigInt. Every
 * price and quantity shown is formatted with the market's own tick and lot.
 */

import { ceilDiv, type Dec, formatUnits, parseDecimal, toSteps, toUnits } from "./decimal";

/** `GET /api/v1/markets`, one element. */
export interface MarketOut {
  symbol: string;
  base: string;
  quote: string;
  baseDecimals: number;
  quoteDecimals: number;
  tickSize: string;
  lotSize: string;
  minQty: string;
  maxQty: string;
  minNotional: string;
  makerFeeBps: number;
  takerFeeBps: number;
  tradingState: string;
  maxOpenOrders: number;
}

export interface Market {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly tick: Dec; // quote per base
  readonly lot: Dec; // base
  readonly minQty: bigint; // lots
  readonly maxQty: bigint; // lots
  readonly minNotional: bigint; // quote units
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  readonly tradingState: string;
  readonly quoteUnitsPerTickLot: bigint; // quote units one lot costs at one tick
  readonly baseUnitsPerLot: bigint;
}

export const BPS = 10_000n;

function required(value: bigint | null, what: string): bigint {
  if (value === null) throw new Error(`market: ${what}`);
  return value;
}

function decimal(text: string, what: string): Dec {
  const parsed = parseDecimal(text);
  if (parsed === null || parsed.units === 0n) throw new Error(`market: ${what} ${text}`);
  return parsed;
}

export function marketFromApi(out: MarketOut): Market {
  const tick = decimal(out.tickSize, "tickSize");
  const lot = decimal(out.lotSize, "lotSize");
  const tickLotScale = tick.scale + lot.scale;
  const tickLot: Dec = { units: tick.units * lot.units, scale: tickLotScale };
  return {
    symbol: out.symbol,
    base: out.base,
    quote: out.quote,
    baseDecimals: out.baseDecimals,
    quoteDecimals: out.quoteDecimals,
    tick,
    lot,
    minQty: required(toSteps(decimal(out.minQty, "minQty"), lot), "minQty off the lot"),
    maxQty: required(toSteps(decimal(out.maxQty, "maxQty"), lot), "maxQty off the lot"),
    minNotional: required(
      toUnits(parseDecimal(out.minNotional) ?? { units: 0n, scale: 0 }, out.quoteDecimals),
      "minNotional",
    ),
    makerFeeBps: out.makerFeeBps,
    takerFeeBps: out.takerFeeBps,
    tradingState: out.tradingState,
    quoteUnitsPerTickLot: required(toUnits(tickLot, out.quoteDecimals), "tick x lot"),
    baseUnitsPerLot: required(toUnits(lot, out.baseDecimals), "lot"),
  };
}

/** Ticks of a price string as the API writes it, or null if it is off the tick. */
export function priceTicks(market: Market, text: string): bigint | null {
  const parsed = parseDecimal(text);
  return parsed === null ? null : toSteps(parsed, market.tick);
}

/** Lots of a quantity string as the API writes it, or null if it is off the lot. */
export function quantityLots(market: Market, text: string): bigint | null {
  const parsed = parseDecimal(text);
  return parsed === null ? null : toSteps(parsed, market.lot);
}

export function formatPrice(market: Market, ticks: bigint): string {
  return formatUnits(ticks * market.tick.units, market.tick.scale);
}

export function formatQuantity(market: Market, lots: bigint): string {
  return formatUnits(lots * market.lot.units, market.lot.scale);
}

export function formatQuote(market: Market, units: bigint): string {
  return formatUnits(units, market.quoteDecimals);
}

export function formatBase(market: Market, units: bigint): string {
  return formatUnits(units, market.baseDecimals);
}

/** Quote units paid for `lots` at `ticks`. */
export function notional(market: Market, ticks: bigint, lots: bigint): bigint {
  return ticks * lots * market.quoteUnitsPerTickLot;
}

/** The fee on a notional, rounded up in the exchange's favour (cryptex.money.fee_units). */
export function feeUnits(notionalUnits: bigint, bps: number): bigint {
  return ceilDiv(notionalUnits * BigInt(bps), BPS);
}

/** Quote units a buy of one lot at `ticks` locks: notional plus the largest fee, rounded up. */
export function buyLockPerLot(market: Market, ticks: bigint): bigint {
  const one = notional(market, ticks, 1n);
  return one + feeUnits(one, Math.max(market.makerFeeBps, market.takerFeeBps));
}

/** What the ledger locks for a buy (quote units) as the API computes it (MarketSpec.buy_lock). */
export function buyLock(market: Market, ticks: bigint, lots: bigint): bigint {
  return lots * buyLockPerLot(market, ticks);
}

/** A market order's protection price as the API sets it: the best opposite price moved by the
 *  band in the taker's disfavour (translate.protection_price). */
export function protectionTicks(best: bigint, buy: boolean, bandBps: number): bigint {
  const band = BigInt(bandBps);
  if (buy) return ceilDiv(best * (BPS + band), BPS);
  const lower = (best * (BPS - band)) / BPS;
  return lower > 0n ? lower : 1n;
}

/** The price step of `multiple` ticks, as text ("0.01", "0.1", "1"). */
export function stepLabel(market: Market, multiple: bigint): string {
  const units = market.tick.units * multiple;
  const text = formatUnits(units, market.tick.scale);
  return text.includes(".") ? text.replace(/\.?0+$/, "") || "0" : text;
}

/** The tick as a number, for a chart's price axis (drawing only). */
export function tickNumber(market: Market): number {
  return Number(formatUnits(market.tick.units, market.tick.scale));
}

/**
 * The average price of `quoteText` paid for `quantityText` (both as the API writes them), with
 * two decimal places more than the tick, rounded down: as the API's quote route computes it.
 */
export function averagePrice(
  market: Market,
  quoteText: string,
  quantityText: string,
): string | null {
  const lots = quantityLots(market, quantityText);
  const quote = parseDecimal(quoteText);
  if (lots === null || lots === 0n || quote === null) return null;
  const units = toUnits(quote, market.quoteDecimals);
  if (units === null) return null;
  const hundredthsOfTicks = (units * 100n) / (lots * market.quoteUnitsPerTickLot);
  return formatUnits(hundredthsOfTicks * market.tick.units, market.tick.scale + 2);
}

/** An asset amount string (as the API writes balances) in units of `decimals`, or null. */
export function assetUnits(text: string | undefined, decimals: number): bigint | null {
  if (text === undefined) return null;
  const parsed = parseDecimal(text);
  return parsed === null ? null : toUnits(parsed, decimals);
}
