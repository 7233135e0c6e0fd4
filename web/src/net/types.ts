/** The shapes of the REST and WebSocket APIs this app reads (the README's tables). Amounts are
 *  decimal strings, times epoch ms. */

export interface TickerOut {
  symbol: string;
  lastPrice: string | null;
  openPrice: string | null;
  highPrice: string | null;
  lowPrice: string | null;
  volume: string;
  quoteVolume: string;
  count: number;
  openTime: number | null;
  closeTime: number | null;
}

/** `GET /api/v1/trades` and `trades@M`. */
export interface PublicTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean; // true: the seller took (a sell)
}

export interface DepthOut {
  symbol: string;
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

export interface DepthMessage {
  e: "depthSnapshot" | "depthUpdate";
  lastUpdateId?: number;
  U?: number;
  u?: number;
  bids: [string, string][];
  asks: [string, string][];
}

export interface BalanceOut {
  asset: string;
  free: string;
  locked: string;
}

export interface FillOut {
  price: string;
  qty: string;
  tradeId: number;
}

export interface OrderOut {
  orderId: number;
  clientOrderId: string;
  market: string;
  side: string; // BUY | SELL
  type: string; // LIMIT | MARKET | STOP_LOSS | STOP_LOSS_LIMIT | TAKE_PROFIT | TAKE_PROFIT_LIMIT
  timeInForce: string;
  price: string;
  stopPrice?: string | null; // a stop order's trigger price
  quantity: string;
  status: string;
  executedQty: string;
  cumulativeQuoteQty: string;
  reason: string;
  fills: FillOut[];
  created: number;
  updated: number;
}

/** `orders@me`: a change of one of the account's orders; a trade adds the trade's fields. */
export interface OrderUpdate {
  orderId: number;
  market: string;
  status: string;
  executedQty: string;
  cumulativeQuoteQty: string;
  updated: number;
  side: string;
  tradeId?: number;
  lastPrice?: string;
  lastQty?: string;
  fee?: string;
  feeAsset?: string;
  maker?: boolean;
}

/** `GET /api/v1/myTrades`: one of the account's trades, from its side. */
export interface MyTradeOut {
  market: string;
  tradeId: number; // counted per market
  orderId: number;
  side: string; // BUY | SELL
  price: string;
  qty: string;
  quoteQty: string;
  fee: string;
  feeAsset: string;
  maker: boolean;
  time: number;
}

export interface TokenOut {
  token: string;
  tokenType: string;
  expiresIn: number; // seconds
  accountId: number;
}

export interface AccountOut {
  accountId: number;
  email: string;
  role: string;
}

// A stop order is NEW while it waits, TRIGGERED once it executes (and may rest).
export const OPEN_STATUSES = new Set(["NEW", "TRIGGERED", "PARTIALLY_FILLED"]);
