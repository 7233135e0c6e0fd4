import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Level } from "../src/lib/book";
import {
  checkOrder,
  describeReason,
  feeRates,
  type FormContext,
  type FormInput,
  quantityForPercent,
  walkBook,
} from "../src/lib/orderForm";
import { SOL_USDC } from "./fixtures";

const asks: Level[] = [
  [15015n, 334n],
  [15030n, 334n],
  [15045n, 334n],
];
const bids: Level[] = [
  [14985n, 334n],
  [14970n, 334n],
];
const context: FormContext = {
  market: SOL_USDC,
  freeBase: 500n * 10n ** 8n, // 500 SOL
  freeQuote: 1000n * 10n ** 6n, // 1000 USDC
  bids,
  asks,
  bandBps: 500,
};
const limitBuy: FormInput = {
  side: "buy",
  kind: "limit",
  timeInForce: "GTC",
  postOnly: false,
  price: "149",
  quantity: "0.5",
};

describe("the order form's checks", () => {
  it("pass a good limit order and build its request with the market's digits", () => {
    const check = checkOrder(limitBuy, context);
    assert.deepEqual(check.errors, {});
    assert.deepEqual(check.request, {
      side: "buy",
      type: "limit",
      market: "SOL_USDC",
      quantity: "0.500",
      price: "149.00",
      timeInForce: "GTC",
      postOnly: false,
    });
    assert.equal(check.total, 74_500_000n); // 74.50 USDC
    assert.equal(check.liquidity, "maker"); // below the best ask: it rests
    assert.equal(check.fee, 74_500n); // maker 0.10%
  });

  it("refuse a price off the tick and a quantity off the lot, saying the step", () => {
    const check = checkOrder({ ...limitBuy, price: "149.005", quantity: "0.0005" }, context);
    assert.equal(check.errors.price, "Price must be a multiple of 0.01");
    assert.equal(check.errors.quantity, "Quantity must be a multiple of 0.001");
    assert.equal(check.request, null);
  });

  it("refuse empty, zero and malformed amounts", () => {
    assert.equal(checkOrder({ ...limitBuy, price: "" }, context).errors.price, "Enter a price");
    assert.equal(
      checkOrder({ ...limitBuy, quantity: "0" }, context).errors.quantity,
      "Quantity must be above zero",
    );
    assert.equal(
      checkOrder({ ...limitBuy, price: "1e3" }, context).errors.price,
      "Price must be a number like 1.5",
    );
  });

  it("refuse a quantity below the minimum or above the maximum", () => {
    assert.equal(
      checkOrder({ ...limitBuy, quantity: "0.009" }, context).errors.quantity,
      "Quantity must be at least 0.01 SOL",
    );
    assert.equal(
      checkOrder({ ...limitBuy, quantity: "100000.001" }, context).errors.quantity,
      "Quantity must be at most 100000 SOL",
    );
  });

  it("refuse a notional below the minimum", () => {
    const check = checkOrder({ ...limitBuy, price: "100", quantity: "0.04" }, context);
    assert.equal(check.errors.order, "Order value must be at least 5 USDC (this one: 4)");
  });

  it("refuse what the free balance cannot lock, fee reserve included", () => {
    // 6.7 SOL at 149 is 998.30 USDC, plus 0.20% reserved for fees: over 1000
    const check = checkOrder({ ...limitBuy, quantity: "6.7" }, context);
    assert.match(check.errors.order ?? "", /^Not enough USDC: this order needs 1000\.296600/);
    const sell = checkOrder(
      { ...limitBuy, side: "sell", price: "151", quantity: "500.001" },
      context,
    );
    assert.match(sell.errors.order ?? "", /^Not enough SOL/);
  });

  it("do not judge funds when signed out", () => {
    const check = checkOrder(
      { ...limitBuy, quantity: "6.7" },
      { ...context, freeBase: null, freeQuote: null },
    );
    assert.equal(check.errors.order, undefined);
  });

  it("estimate the taker fee of a crossing limit order", () => {
    const check = checkOrder({ ...limitBuy, price: "150.15", quantity: "0.3" }, context);
    assert.equal(check.liquidity, "taker");
    assert.equal(check.fee, 90_090n); // 0.3 at 150.15 = 45.045000 USDC, at 0.20%
    assert.equal(feeRates(SOL_USDC, check.liquidity), "taker 0.20%");
    const sell = checkOrder({ ...limitBuy, side: "sell", price: "149.70" }, context);
    assert.equal(sell.liquidity, "taker"); // at or under the best bid: it takes
  });

  it("estimate a market order at the taker's fee", () => {
    const check = checkOrder({ ...limitBuy, kind: "market" }, context);
    assert.equal(check.liquidity, "taker");
    // 0.334 at 150.15 and 0.166 at 150.30: 75.099900 USDC, at 0.20% rounded up
    assert.equal(check.fee, 150_200n);
  });

  it("estimate the maker fee of a limit order that rests, even at the best bid", () => {
    const check = checkOrder({ ...limitBuy, price: "149.85" }, context);
    assert.equal(check.liquidity, "maker");
    assert.equal(check.fee, 74_925n); // 74.925000 USDC at 0.10%
    assert.equal(feeRates(SOL_USDC, check.liquidity), "maker 0.10%");
  });

  it("estimate both fees of a limit order that takes part and rests the rest", () => {
    const check = checkOrder(
      { ...limitBuy, price: "150.15", quantity: "0.5" },
      {
        ...context,
        asks: [[15015n, 200n]],
      },
    );
    assert.equal(check.liquidity, "both");
    // 0.2 taken at 150.15 (30.030000 USDC, 0.20%) and 0.3 resting at 150.15 (45.045000, 0.10%)
    assert.equal(check.fee, 60_060n + 45_045n);
    assert.equal(feeRates(SOL_USDC, check.liquidity), "taker 0.20% + maker 0.10%");
    const ioc = checkOrder(
      { ...limitBuy, price: "150.15", timeInForce: "IOC" },
      {
        ...context,
        asks: [[15015n, 200n]],
      },
    );
    assert.deepEqual([ioc.liquidity, ioc.fee], ["taker", 60_060n]); // the rest is cancelled
  });

  it("estimate post-only orders at the maker's fee and keep them GTC", () => {
    // One that would take is the exchange's to refuse (the page's book may be behind it).
    const crossing = checkOrder({ ...limitBuy, price: "150.15", postOnly: true }, context);
    assert.deepEqual([crossing.liquidity, crossing.errors.order], ["maker", undefined]);
    const check = checkOrder({ ...limitBuy, postOnly: true }, context);
    assert.equal(check.liquidity, "maker");
    assert.equal(check.request?.postOnly, true);
    const ioc = checkOrder({ ...limitBuy, postOnly: true, timeInForce: "IOC" }, context);
    assert.match(ioc.errors.order ?? "", /time in force must be GTC/);
  });

  it("estimate a market order from the book, judging its minimum at the best price", () => {
    const market = checkOrder({ ...limitBuy, kind: "market", price: "" }, context);
    assert.deepEqual(market.errors, {});
    // 0.334 at 150.15 and 0.166 at 150.30: the README's 75.099900 USDC
    assert.equal(market.total, 75_099_900n);
    assert.deepEqual(market.request, {
      side: "buy",
      type: "market",
      market: "SOL_USDC",
      quantity: "0.500",
      timeInForce: "IOC",
      postOnly: false,
    });
    const tooBig = checkOrder({ ...limitBuy, kind: "market", quantity: "2" }, context);
    assert.match(tooBig.errors.order ?? "", /^The book holds 1.002 SOL/);
    const empty = checkOrder({ ...limitBuy, kind: "market" }, { ...context, asks: [] });
    assert.match(empty.errors.order ?? "", /^No asks to buy from/);
  });

  it("lock a market buy against its protection price", () => {
    // the lock is at 157.66 (150.15 + 5%) and the fee reserve: 157.976 USDC a SOL
    const near = checkOrder({ ...limitBuy, kind: "market", quantity: "0.9" }, context);
    assert.deepEqual(near.errors, {});
    const far = checkOrder(
      { ...limitBuy, kind: "market", quantity: "1.002" },
      { ...context, freeQuote: 158_000_000n },
    );
    assert.match(far.errors.order ?? "", /^Not enough USDC/);
  });
});

describe("quantity by share of the free balance", () => {
  it("buys what the free quote can lock at the limit price, rounded down to the lot", () => {
    const lots = quantityForPercent(100, "buy", "limit", "149", context)!;
    // one lot at 149.00 locks 149000 + 298 (0.20% fee reserve) units
    assert.equal(lots, 1000_000_000n / 149_298n);
    const check = checkOrder({ ...limitBuy, quantity: "6.698" }, context);
    assert.equal(lots, 6698n);
    assert.deepEqual(check.errors, {});
    assert.equal(quantityForPercent(25, "buy", "limit", "149", context), 250_000_000n / 149_298n);
  });

  it("sells a share of the free base", () => {
    assert.equal(quantityForPercent(50, "sell", "limit", "", context), 250_000n);
    assert.equal(quantityForPercent(75, "sell", "market", "", context), 375_000n);
  });

  it("buys at market within the protection price", () => {
    const lots = quantityForPercent(100, "buy", "market", "", context)!;
    assert.equal(lots, 1000_000_000n / (157_660n + 316n));
  });

  it("cannot say without a price or a balance", () => {
    assert.equal(quantityForPercent(50, "buy", "market", "", { ...context, asks: [] }), null);
    assert.equal(quantityForPercent(50, "buy", "limit", "", { ...context, freeQuote: null }), null);
  });
});

describe("helpers", () => {
  it("walk the book", () => {
    assert.deepEqual(walkBook(SOL_USDC, asks, 400n), [400n, 334n * 150_150n + 66n * 150_300n]);
    assert.deepEqual(walkBook(SOL_USDC, [], 400n), [0n, 0n]);
    // a limit buy at 150.30 stops before the level at 150.45
    assert.deepEqual(walkBook(SOL_USDC, asks, 1000n, { ticks: 15030n, buy: true }), [
      668n,
      334n * 150_150n + 334n * 150_300n,
    ]);
  });

  it("explain a rejection", () => {
    assert.equal(
      describeReason("POST_ONLY_WOULD_TAKE"),
      "a post-only order would have taken liquidity",
    );
    assert.equal(describeReason("SOMETHING_NEW"), "something new");
  });
});
