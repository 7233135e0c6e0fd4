import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  averagePrice,
  buyLock,
  feeUnits,
  formatPrice,
  formatQuantity,
  marketFromApi,
  notional,
  priceTicks,
  protectionTicks,
  quantityLots,
  stepLabel,
} from "../src/lib/market";
import { BTC_USDC, SOL_USDC, SOL_USDC_OUT } from "./fixtures";

describe("a market's rules", () => {
  it("come from the API's strings as integers", () => {
    assert.equal(SOL_USDC.minQty, 10n); // lots of 0.001
    assert.equal(SOL_USDC.maxQty, 100_000_000n);
    assert.equal(SOL_USDC.minNotional, 5_000_000n); // USDC units
    assert.equal(SOL_USDC.quoteUnitsPerTickLot, 10n); // 0.01 x 0.001 = 0.00001 USDC
    assert.equal(SOL_USDC.baseUnitsPerLot, 100_000n);
  });

  it("refuse a market the exchange could not have listed", () => {
    assert.throws(() => marketFromApi({ ...SOL_USDC_OUT, lotSize: "0.000000001" }));
    assert.throws(() => marketFromApi({ ...SOL_USDC_OUT, tickSize: "0" }));
  });

  it("parse and format prices and quantities with the tick and lot", () => {
    assert.equal(priceTicks(SOL_USDC, "150.15"), 15015n);
    assert.equal(priceTicks(SOL_USDC, "150.155"), null);
    assert.equal(formatPrice(SOL_USDC, 15015n), "150.15");
    assert.equal(formatPrice(BTC_USDC, 600000n), "60000.0");
    assert.equal(quantityLots(SOL_USDC, "0.334"), 334n);
    assert.equal(formatQuantity(SOL_USDC, 500n), "0.500");
    assert.equal(formatQuantity(BTC_USDC, 1n), "0.00001");
  });

  it("price notionals and fees as the API does", () => {
    // the README's tour: 0.334 at 150.15 is 50.150100 USDC, its taker fee 0.100301 (rounded up)
    const value = notional(SOL_USDC, 15015n, 334n);
    assert.equal(value, 50_150_100n);
    assert.equal(feeUnits(value, 20), 100_301n);
    // a buy locks the notional and the larger fee, rounded up per lot
    assert.equal(buyLock(SOL_USDC, 15015n, 1n), 150_150n + 301n);
    assert.equal(buyLock(SOL_USDC, 15015n, 334n), 334n * 150_451n);
  });

  it("band a market order's protection price in the taker's disfavour", () => {
    assert.equal(protectionTicks(15015n, true, 500), 15766n); // 15765.75 rounded up
    assert.equal(protectionTicks(15015n, false, 500), 14264n); // 14264.25 rounded down
    assert.equal(protectionTicks(1n, false, 5000), 1n);
  });

  it("average fills with two more places than the tick, rounded down", () => {
    assert.equal(averagePrice(SOL_USDC, "75.099900", "0.500"), "150.1998");
    assert.equal(averagePrice(SOL_USDC, "0.000000", "0.000"), null);
  });

  it("label price groups by their step", () => {
    assert.equal(stepLabel(SOL_USDC, 1n), "0.01");
    assert.equal(stepLabel(SOL_USDC, 10n), "0.1");
    assert.equal(stepLabel(SOL_USDC, 100n), "1");
    assert.equal(stepLabel(BTC_USDC, 1000n), "100");
  });
});
