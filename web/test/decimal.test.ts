import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ceilDiv,
  compareDecimal,
  floorSteps,
  formatUnits,
  groupThousands,
  parseDecimal,
  parseTyped,
  toSteps,
  toUnits,
  trimZeros,
  truncateDecimals,
} from "../src/lib/decimal";

describe("decimal strings", () => {
  it("parse exactly, trailing zeros dropped", () => {
    assert.deepEqual(parseDecimal("150.25"), { units: 15025n, scale: 2 });
    assert.deepEqual(parseDecimal("0.10"), { units: 1n, scale: 1 });
    assert.deepEqual(parseDecimal("007"), { units: 7n, scale: 0 });
    // 2^63 - 1 units of a 18-decimal asset: far past what a double holds exactly
    assert.deepEqual(parseDecimal("9.223372036854775807"), {
      units: 9223372036854775807n,
      scale: 18,
    });
  });

  it("refuse what the API would refuse", () => {
    for (const bad of ["", "-1", "+1", "1e3", "1.", ".5", " 1", "1,5", "NaN", "Infinity", "0x10"]) {
      assert.equal(parseDecimal(bad), null, bad);
    }
  });

  it("take what a person types, within reason", () => {
    assert.deepEqual(parseTyped(" .5 "), { units: 5n, scale: 1 });
    assert.deepEqual(parseTyped("5."), { units: 5n, scale: 0 });
    assert.equal(parseTyped("."), null);
    assert.equal(parseTyped("1,5"), null);
    assert.equal(parseTyped("-2"), null);
    assert.equal(parseTyped("1".repeat(40)), null);
  });

  it("format units with exactly the places asked", () => {
    assert.equal(formatUnits(15025n, 2), "150.25");
    assert.equal(formatUnits(5n, 6), "0.000005");
    assert.equal(formatUnits(0n, 3), "0.000");
    assert.equal(formatUnits(42n, 0), "42");
    assert.equal(formatUnits(-1500n, 3), "-1.500");
  });

  it("0.1 + 0.2 is 0.3 here", () => {
    const a = toUnits(parseDecimal("0.1")!, 6)!;
    const b = toUnits(parseDecimal("0.2")!, 6)!;
    assert.equal(formatUnits(a + b, 6), "0.300000");
  });

  it("count steps only when exact", () => {
    const tick = parseDecimal("0.01")!;
    assert.equal(toSteps(parseDecimal("150.25")!, tick), 15025n);
    assert.equal(toSteps(parseDecimal("150.255")!, tick), null);
    assert.equal(toSteps(parseDecimal("0.5")!, parseDecimal("0.25")!), 2n);
    assert.equal(toSteps(parseDecimal("0.6")!, parseDecimal("0.25")!), null);
    assert.equal(floorSteps(parseDecimal("1.2345")!, parseDecimal("0.001")!), 1234n);
  });

  it("convert to units only without losing digits", () => {
    assert.equal(toUnits(parseDecimal("1.5")!, 6), 1500000n);
    assert.equal(toUnits(parseDecimal("1.0000001")!, 6), null);
    assert.equal(toUnits(parseDecimal("1.000000")!, 0), 1n);
  });

  it("round fees up", () => {
    assert.equal(ceilDiv(10n, 3n), 4n);
    assert.equal(ceilDiv(9n, 3n), 3n);
    assert.equal(ceilDiv(0n, 3n), 0n);
  });

  it("compare exactly", () => {
    assert.equal(compareDecimal("9.5", "10.0"), -1);
    assert.equal(compareDecimal("150.10", "150.1"), 0);
    assert.equal(compareDecimal("0.30000000000000001", "0.3"), 1);
  });

  it("display helpers keep the digits they show", () => {
    assert.equal(groupThousands("1234567.891"), "1,234,567.891");
    assert.equal(groupThousands("-1000"), "-1,000");
    assert.equal(groupThousands("999.999999"), "999.999999");
    assert.equal(trimZeros("5.000000"), "5");
    assert.equal(trimZeros("0.010"), "0.01");
    assert.equal(trimZeros("100"), "100");
    assert.equal(truncateDecimals("1234.567890", 2), "1234.56");
    assert.equal(truncateDecimals("1234.567890", 0), "1234");
  });
});
