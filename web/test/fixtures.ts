/** Markets as `GET /api/v1/markets` lists them (crds/examples). */

import { type Market, marketFromApi, type MarketOut } from "../src/lib/market";

export const SOL_USDC_OUT: MarketOut = {
  symbol: "SOL_USDC",
  base: "SOL",
  quote: "USDC",
  baseDecimals: 8,
  quoteDecimals: 6,
  tickSize: "0.01",
  lotSize: "0.001",
  minQty: "0.010",
  maxQty: "100000.000",
  minNotional: "5.000000",
  makerFeeBps: 10,
  takerFeeBps: 20,
  tradingState: "Active",
  maxOpenOrders: 200,
};

export const BTC_USDC_OUT: MarketOut = {
  ...SOL_USDC_OUT,
  symbol: "BTC_USDC",
  base: "BTC",
  tickSize: "0.1",
  lotSize: "0.00001",
  minQty: "0.00001",
  maxQty: "1000.00000",
};

export const SOL_USDC: Market = marketFromApi(SOL_USDC_OUT);
export const BTC_USDC: Market = marketFromApi(BTC_USDC_OUT);
