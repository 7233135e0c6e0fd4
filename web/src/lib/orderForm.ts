/**
 * The order form's arithmetic and checks, before anything is sent: tick, lot, minimum and
 * maximum quantity, minimum notional, what the order locks against what is free, the total and
 * the fee. The API checks all of it again; this only spares a round trip and says why early.
 * Pure and exact: BigInt units throughout.
 */

import { parseTyped, toSteps, trimZeros } from "./decimal";
import { bpsPercent } from "./format";
import type { Level } from "./book";
import {
  buyLock,
  buyLockPerLot,
  feeUnits,
  formatBase,
  formatPrice,
  formatQuantity,
  formatQuote,
  type Market,
  notional,
  protectionTicks,
} from "./market";

export type OrderSide = "buy" | "sell";
export type OrderKind = "limit" | "market";
export type TimeInForce = "GTC" | "IOC" | "FOK";

export interface FormInput {
  readonly side: OrderSide;
  readonly kind: OrderKind;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly price: string; // as typed
  readonly quantity: string; // as typed
}

export interface FormContext {
  readonly market: Market;
  readonly freeBase: bigint | null; // base units; null: unknown (signed out)
  readonly freeQuote: bigint | null; // quote units
  readonly bids: readonly Level[]; // best first: [ticks, lots]
  readonly asks: readonly Level[];
  readonly bandBps: number; // the API's market-order protection band
}

/** The body of `POST /api/v1/order`. */
export interface OrderRequest {
  side: OrderSide;
  type: OrderKind;
  market: string;
  quantity: string;
  price?: string;
  timeInForce: TimeInForce;
  postOnly: boolean;
  clientOrderId?: string;
}

export interface FormErrors {
  price?: string;
  quantity?: string;
  order?: string; // about the order as a whole: value, funds, liquidity
}

export interface FormCheck {
  readonly errors: FormErrors;
  readonly ticks: bigint | null; // the limit price, or a market order's first fill price
  readonly lots: bigint | null;
  readonly total: bigint | null; // quote units (a market order's: estimated from the book)
  readonly fee: bigint | null; // quote units, estimated
  readonly liquidity: Liquidity; // whose fee the estimate charges
  readonly request: OrderRequest | null; // set only when there is no error
}

function amount(
  text: string,
  step: { units: bigint; scale: number },
  stepText: string,
  name: string,
): { steps: bigint | null; error?: string } {
  if (text.trim() === "") return { steps: null, error: `Enter a ${name.toLowerCase()}` };
  const parsed = parseTyped(text);
  if (parsed === null) return { steps: null, error: `${name} must be a number like 1.5` };
  if (parsed.units === 0n) return { steps: null, error: `${name} must be above zero` };
  const steps = toSteps(parsed, step);
  if (steps === null) return { steps: null, error: `${name} must be a multiple of ${stepText}` };
  return { steps };
}

/** What an order of `lots` would fill at: (lots filled, quote units), walking the opposite
 *  side of the book best first; a limit order stops at its price (`limitTicks`). */
export function walkBook(
  market: Market,
  levels: readonly Level[],
  lots: bigint,
  limit?: { ticks: bigint; buy: boolean },
): [bigint, bigint] {
  let remaining = lots;
  let total = 0n;
  for (const [price, available] of levels) {
    if (remaining === 0n) break;
    if (limit !== undefined && (limit.buy ? price > limit.ticks : price < limit.ticks)) break;
    const take = available < remaining ? available : remaining;
    total += notional(market, price, take);
    remaining -= take;
  }
  return [lots - remaining, total];
}

/** Whose fee an order pays: the taker's on what it takes from the book at once, the maker's on
 *  what rests; "both" when a limit order takes part and rests the rest. */
export type Liquidity = "taker" | "maker" | "both";

/** The fee's name and rate, as the form shows it: "taker 0.20%", "taker 0.20% + maker 0.10%". */
export function feeRates(market: Market, liquidity: Liquidity): string {
  const taker = `taker ${bpsPercent(market.takerFeeBps)}`;
  const maker = `maker ${bpsPercent(market.makerFeeBps)}`;
  return liquidity === "taker" ? taker : liquidity === "maker" ? maker : `${taker} + ${maker}`;
}

export interface FeeEstimate {
  readonly fee: bigint; // quote units
  readonly liquidity: Liquidity;
}

/**
 * The fee of a limit order at `ticks` (or, with `ticks` null, a market order) of `lots`, given
 * the opposite side of the book best first: the taker's fee on the part that crosses (walked
 * level by level, at each level's price), the maker's on a GTC remainder that would rest at the
 * limit price. An IOC or FOK remainder is cancelled, and pays nothing.
 */
export function estimateFee(
  market: Market,
  order: { buy: boolean; ticks: bigint | null; lots: bigint; rests: boolean },
  opposite: readonly Level[],
): FeeEstimate {
  const { buy, ticks, lots } = order;
  const [taken, takenQuote] =
    ticks === null
      ? walkBook(market, opposite, lots)
      : walkBook(market, opposite, lots, { ticks, buy });
  const resting = ticks !== null && order.rests ? lots - taken : 0n;
  const fee =
    feeUnits(takenQuote, market.takerFeeBps) +
    (resting > 0n ? feeUnits(notional(market, ticks ?? 0n, resting), market.makerFeeBps) : 0n);
  // A market, IOC or FOK order never rests: it is always the taker.
  const liquidity: Liquidity =
    ticks === null || !order.rests || resting === 0n ? "taker" : taken === 0n ? "maker" : "both";
  return { fee, liquidity };
}

export function checkOrder(input: FormInput, ctx: FormContext): FormCheck {
  const { market } = ctx;
  const buy = input.side === "buy";
  const errors: FormErrors = {};
  const tickText = trimZeros(formatPrice(market, 1n));
  const lotText = trimZeros(formatQuantity(market, 1n));

  const quantity = amount(input.quantity, market.lot, lotText, "Quantity");
  if (quantity.error !== undefined) errors.quantity = quantity.error;
  const lots = quantity.steps;
  if (lots !== null) {
    if (lots < market.minQty) {
      errors.quantity = `Quantity must be at least ${trimZeros(formatQuantity(market, market.minQty))} ${market.base}`;
    } else if (lots > market.maxQty) {
      errors.quantity = `Quantity must be at most ${trimZeros(formatQuantity(market, market.maxQty))} ${market.base}`;
    }
  }

  let ticks: bigint | null = null;
  let total: bigint | null = null;
  const opposite = buy ? ctx.asks : ctx.bids;
  const best = opposite[0]?.[0] ?? null;
  if (input.kind === "limit") {
    const price = amount(input.price, market.tick, tickText, "Price");
    if (price.error !== undefined) errors.price = price.error;
    ticks = price.steps;
    if (ticks !== null && lots !== null) total = notional(market, ticks, lots);
    if (input.postOnly && input.timeInForce !== "GTC") {
      errors.order = "Post-only orders rest on the book: time in force must be GTC";
    }
  } else {
    ticks = best;
    if (best === null) {
      errors.order = `No ${buy ? "asks to buy from" : "bids to sell to"}: a market order needs the other side of the book`;
    } else if (lots !== null) {
      const [filled, cost] = walkBook(market, opposite, lots);
      total = cost;
      if (filled < lots) {
        errors.order = `The book holds ${trimZeros(formatQuantity(market, filled))} ${market.base} on that side: less than the quantity`;
      }
    }
  }

  const limitTicks = input.kind === "limit" ? ticks : null;
  const estimate =
    lots === null || (input.kind === "limit" && ticks === null)
      ? null
      : estimateFee(
          market,
          {
            buy,
            ticks: limitTicks,
            lots,
            rests: input.kind === "limit" && input.timeInForce === "GTC",
          },
          input.postOnly && input.kind === "limit" ? [] : opposite,
        );
  const fee = total === null || estimate === null ? null : estimate.fee;
  const liquidity: Liquidity = estimate?.liquidity ?? (input.kind === "market" ? "taker" : "maker");

  if (
    errors.order === undefined &&
    ticks !== null &&
    lots !== null &&
    errors.quantity === undefined
  ) {
    // The minimum notional is judged at the limit price, or at the best opposite price for a
    // market order (as the API does).
    const value = notional(market, ticks, lots);
    if (value < market.minNotional) {
      errors.order = `Order value must be at least ${trimZeros(formatQuote(market, market.minNotional))} ${market.quote} (this one: ${trimZeros(formatQuote(market, value))})`;
    }
  }

  if (errors.order === undefined && ticks !== null && lots !== null && errors.price === undefined) {
    if (buy && ctx.freeQuote !== null) {
      const lockTicks = input.kind === "market" ? protectionTicks(ticks, true, ctx.bandBps) : ticks;
      const lock = buyLock(market, lockTicks, lots);
      if (lock > ctx.freeQuote) {
        errors.order = `Not enough ${market.quote}: this order needs ${formatQuote(market, lock)} (fee reserve included), ${formatQuote(market, ctx.freeQuote)} free`;
      }
    } else if (!buy && ctx.freeBase !== null) {
      const lock = lots * market.baseUnitsPerLot;
      if (lock > ctx.freeBase) {
        errors.order = `Not enough ${market.base}: this order needs ${formatBase(market, lock)}, ${formatBase(market, ctx.freeBase)} free`;
      }
    }
  }

  const valid =
    errors.price === undefined &&
    errors.quantity === undefined &&
    errors.order === undefined &&
    lots !== null &&
    (input.kind === "market" || ticks !== null);
  let request: OrderRequest | null = null;
  if (valid && lots !== null) {
    request = {
      side: input.side,
      type: input.kind,
      market: market.symbol,
      quantity: formatQuantity(market, lots),
      timeInForce: input.kind === "market" ? "IOC" : input.timeInForce,
      postOnly: input.kind === "limit" && input.postOnly,
    };
    if (input.kind === "limit" && ticks !== null) request.price = formatPrice(market, ticks);
  }
  return { errors, ticks, lots, total, fee, liquidity, request };
}

/**
 * The quantity that spends `percent` of what is free: for a buy, of the quote asset, with the
 * fee reserve the ledger locks (at the limit price, or a market order's protection price); for
 * a sell, of the base asset. Rounded down to the lot, capped at the market's maximum. Null when
 * it cannot be known (no price, no balance).
 */
export function quantityForPercent(
  percent: number,
  side: OrderSide,
  kind: OrderKind,
  priceText: string,
  ctx: FormContext,
): bigint | null {
  const { market } = ctx;
  const share = BigInt(Math.round(percent));
  let lots: bigint;
  if (side === "buy") {
    if (ctx.freeQuote === null) return null;
    let ticks: bigint | null;
    if (kind === "market") {
      const best = ctx.asks[0]?.[0];
      ticks = best === undefined ? null : protectionTicks(best, true, ctx.bandBps);
    } else {
      const parsed = parseTyped(priceText);
      ticks = parsed === null ? null : toSteps(parsed, market.tick);
      if (ticks === null) ticks = ctx.asks[0]?.[0] ?? null;
    }
    if (ticks === null || ticks === 0n) return null;
    const budget = (ctx.freeQuote * share) / 100n;
    lots = budget / buyLockPerLot(market, ticks);
  } else {
    if (ctx.freeBase === null) return null;
    lots = (ctx.freeBase * share) / 100n / market.baseUnitsPerLot;
  }
  return lots > market.maxQty ? market.maxQty : lots;
}

/** An explanation of a REJECTED or EXPIRED order's reason, as a trader reads it. */
export function describeReason(reason: string): string {
  const known: Record<string, string> = {
    POST_ONLY_WOULD_TAKE: "a post-only order would have taken liquidity",
    INSUFFICIENT_FUNDS: "insufficient funds",
    MARKET_NOT_OPEN: "the market is not open for orders",
    INVALID_ORDER: "the order is invalid",
    DUPLICATE_ORDER_ID: "a duplicate order id",
    IOC: "the unfilled part expired (immediate or cancel)",
    FOK: "the order could not be filled entirely at once (fill or kill)",
    SELF_TRADE: "it would have traded with your own order",
  };
  return known[reason] ?? reason.toLowerCase().replace(/_/g, " ");
}
