import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergeTrades, tradeFromApi, tradeFromUpdate } from "../src/lib/ownTrades";
import type { MyTradeOut, OrderUpdate } from "../src/net/types";

const recorded: MyTradeOut = {
  market: "SOL_USDC",
  tradeId: 7,
  orderId: 19,
  side: "BUY",
  price: "150.15",
  qty: "0.334",
  quoteQty: "50.150100",
  fee: "0.100301",
  feeAsset: "USDC",
  maker: false,
  time: 1_795_335_757_280,
};
const fill: OrderUpdate = {
  orderId: 19,
  market: "SOL_USDC",
  status: "PARTIALLY_FILLED",
  executedQty: "0.334",
  cumulativeQuoteQty: "50.150100",
  updated: 1_795_335_757_280,
  side: "BUY",
  tradeId: 7,
  lastPrice: "150.15",
  lastQty: "0.334",
  fee: "0.100301",
  feeAsset: "USDC",
  maker: false,
};

describe("own trades", () => {
  it("take a recorded trade and the same fill announced live as one trade", () => {
    const live = tradeFromUpdate(fill)!;
    const fromApi = tradeFromApi(recorded);
    assert.equal(live.key, fromApi.key);
    const merged = mergeTrades([live], [fromApi], 10);
    assert.equal(merged.length, 1);
    assert.deepEqual(
      [merged[0]!.price, merged[0]!.qty, merged[0]!.fee, merged[0]!.maker],
      ["150.15", "0.334", "0.100301", false],
    );
    assert.deepEqual(mergeTrades(merged, [live], 10).length, 1);
  });

  it("keep both sides of a self-trade, list newest first and keep the newest few", () => {
    const older = tradeFromApi({ ...recorded, tradeId: 6, time: recorded.time - 1_000 });
    const own = tradeFromApi(recorded);
    const other = tradeFromApi({ ...recorded, orderId: 20, side: "SELL", maker: true });
    const eth = tradeFromApi({ ...recorded, market: "ETH_USDC", tradeId: 900, orderId: 30 });
    const merged = mergeTrades([older], [other, own, eth], 10);
    assert.deepEqual(
      merged.map((t) => t.key),
      ["30:900", "19:7", "20:7", "19:6"],
    );
    assert.deepEqual(
      mergeTrades(merged, [], 2).map((t) => t.key),
      ["30:900", "19:7"],
    );
  });

  it("see no trade in an update without one", () => {
    const { tradeId: _t, lastPrice: _p, ...cancelled } = fill;
    assert.equal(tradeFromUpdate({ ...cancelled, status: "CANCELED" }), null);
  });
});
