import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconnectDelay } from "../src/lib/backoff";
import { type Candle, fromRow, mergeCandle } from "../src/lib/candles";
import { bpsPercent, changePercent, ratioPercent } from "../src/lib/format";

describe("24-hour change", () => {
  it("is exact to the hundredth of a percent, half up", () => {
    assert.deepEqual(changePercent("150.00", "151.50"), { text: "+1.00%", direction: 1 });
    assert.deepEqual(changePercent("150.00", "149.25"), { text: "-0.50%", direction: -1 });
    assert.deepEqual(changePercent("3.00", "3.00"), { text: "0.00%", direction: 0 });
    assert.deepEqual(changePercent("3", "3.0001"), { text: "0.00%", direction: 0 });
    assert.deepEqual(changePercent("8", "9.0004"), { text: "+12.51%", direction: 1 });
    assert.deepEqual(changePercent("0.1", "1000"), { text: "+999,900.00%", direction: 1 });
  });

  it("is unknown without an open or a last price", () => {
    assert.equal(changePercent(null, "1"), null);
    assert.equal(changePercent("0", "1"), null);
  });

  it("formats rates", () => {
    assert.equal(bpsPercent(20), "0.20%");
    assert.equal(bpsPercent(1000), "10.00%");
    assert.equal(ratioPercent(30n, 30000n), "0.10%");
  });
});

describe("candles", () => {
  const at = (openTime: number, close: string): Candle => ({
    openTime,
    open: "1",
    high: close,
    low: "1",
    close,
    volume: "1",
    trades: 1,
  });

  it("read the REST rows", () => {
    assert.deepEqual(
      fromRow([
        1795335660000,
        "150.15",
        "150.30",
        "150.15",
        "150.30",
        "0.500",
        1795335719999,
        "75.099900",
        2,
      ]),
      {
        openTime: 1795335660000,
        open: "150.15",
        high: "150.30",
        low: "150.15",
        close: "150.30",
        volume: "0.500",
        trades: 2,
      },
    );
  });

  it("merge a live candle: the current one replaced, a new one appended", () => {
    const history = [at(0, "1"), at(60, "2")];
    assert.deepEqual(mergeCandle(history, at(60, "3")), [at(0, "1"), at(60, "3")]);
    assert.deepEqual(mergeCandle(history, at(120, "4")), [...history, at(120, "4")]);
    assert.deepEqual(mergeCandle(history, at(0, "5")), [at(0, "5"), at(60, "2")]);
    assert.deepEqual(mergeCandle(history, at(-60, "6")), history); // before the history: kept out
    assert.deepEqual(mergeCandle([], at(0, "1")), [at(0, "1")]);
    assert.equal(history.length, 2);
  });
});

describe("reconnect delays", () => {
  it("grow from half a second to fifteen, jittered within the upper half", () => {
    assert.equal(reconnectDelay(0, 0), 250);
    assert.equal(reconnectDelay(0, 1), 500);
    assert.equal(reconnectDelay(3, 1), 4000);
    assert.equal(reconnectDelay(10, 1), 15000);
    assert.equal(reconnectDelay(1000, 0), 7500);
  });
});
