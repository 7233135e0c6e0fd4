/**
 * The trader's own trades as the "My trades" tab lists them: the recorded history
 * (`GET /api/v1/myTrades`) merged with the fills `orders@me` announces as they happen, each
 * trade once, newest first. Pure: no I/O.
 */

import type { MyTradeOut, OrderUpdate } from "../net/types";

export interface OwnTrade {
  readonly key: string; // orderId:tradeId (order ids are unique; both sides of a self-trade are two rows)
  readonly tradeId: number;
  readonly orderId: number;
  readonly market: string;
  readonly side: string;
  readonly price: string;
  readonly qty: string;
  readonly fee: string;
  readonly feeAsset: string;
  readonly maker: boolean;
  readonly time: number;
}

function keyOf(orderId: number, tradeId: number): string {
  return `${orderId}:${tradeId}`;
}

export function tradeFromApi(trade: MyTradeOut): OwnTrade {
  return { ...trade, key: keyOf(trade.orderId, trade.tradeId) };
}

/** The trade an `orders@me` update announces, or null for an update without one. */
export function tradeFromUpdate(update: OrderUpdate): OwnTrade | null {
  if (update.tradeId === undefined || update.lastPrice === undefined) return null;
  return {
    key: keyOf(update.orderId, update.tradeId),
    tradeId: update.tradeId,
    orderId: update.orderId,
    market: update.market,
    side: update.side,
    price: update.lastPrice,
    qty: update.lastQty ?? "",
    fee: update.fee ?? "",
    feeAsset: update.feeAsset ?? "",
    maker: update.maker ?? false,
    time: update.updated,
  };
}

/** `known` and `incoming` as one list, newest first, each trade once, at most `most` long. */
export function mergeTrades(
  known: readonly OwnTrade[],
  incoming: readonly OwnTrade[],
  most: number,
): OwnTrade[] {
  const byKey = new Map<string, OwnTrade>();
  for (const trade of known) byKey.set(trade.key, trade);
  for (const trade of incoming) byKey.set(trade.key, trade);
  return [...byKey.values()]
    .sort(
      (a, b) =>
        b.time - a.time ||
        a.market.localeCompare(b.market) ||
        b.tradeId - a.tradeId ||
        a.orderId - b.orderId,
    )
    .slice(0, most);
}
