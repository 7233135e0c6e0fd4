import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BookSync, type DepthDiff, groupPrice, type Level, topLevels } from "../src/lib/book";

const snapshot = (lastUpdateId: number, bids: Level[], asks: Level[]) => ({
  lastUpdateId,
  bids,
  asks,
});
const diff = (U: number, u: number, bids: Level[] = [], asks: Level[] = []): DepthDiff => ({
  U,
  u,
  bids,
  asks,
});

/** The whole state, for whole-state assertions. */
function state(book: BookSync) {
  const sorted = (levels: Map<bigint, bigint>) =>
    [...levels.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return {
    state: book.state,
    lastUpdateId: book.lastUpdateId,
    bids: sorted(book.bids),
    asks: sorted(book.asks),
  };
}

function checkInvariants(book: BookSync): void {
  const bid = book.best("bid");
  const ask = book.best("ask");
  if (book.state === "live" && bid !== null && ask !== null) assert.ok(bid < ask, "crossed");
  for (const quantity of [...book.bids.values(), ...book.asks.values()]) assert.ok(quantity > 0n);
}

function seeded(): BookSync {
  const book = new BookSync();
  book.resync();
  book.onSnapshot(
    snapshot(
      10,
      [
        [100n, 5n],
        [99n, 7n],
      ],
      [
        [101n, 3n],
        [103n, 4n],
      ],
    ),
  );
  return book;
}

describe("keeping a book from a snapshot and diffs", () => {
  it("takes the snapshot, then diffs in sequence; a zero quantity removes a level", () => {
    const book = seeded();
    assert.equal(book.onDiff(diff(11, 11, [[100n, 2n]], [[101n, 0n]])), "applied");
    assert.equal(book.onDiff(diff(12, 14, [[98n, 1n]], [[102n, 6n]])), "applied");
    assert.deepEqual(state(book), {
      state: "live",
      lastUpdateId: 14,
      bids: [
        [98n, 1n],
        [99n, 7n],
        [100n, 2n],
      ],
      asks: [
        [102n, 6n],
        [103n, 4n],
      ],
    });
    checkInvariants(book);
  });

  it("buffers diffs that come before the snapshot and applies only the newer ones", () => {
    const book = new BookSync();
    book.resync();
    assert.equal(book.onDiff(diff(8, 9, [[100n, 1n]])), "buffered"); // older: dropped
    assert.equal(book.onDiff(diff(10, 11, [[100n, 9n]])), "buffered"); // straddles: applied
    assert.equal(book.onDiff(diff(12, 12, [], [[101n, 1n]])), "buffered");
    assert.equal(book.state, "waiting");
    assert.equal(book.onSnapshot(snapshot(10, [[100n, 5n]], [[101n, 3n]])), "applied");
    assert.deepEqual(state(book), {
      state: "live",
      lastUpdateId: 12,
      bids: [[100n, 9n]],
      asks: [[101n, 1n]],
    });
  });

  it("drops diffs it holds already (out of order, or sent twice)", () => {
    const book = seeded();
    book.onDiff(diff(11, 12, [[100n, 1n]]));
    const before = state(book);
    assert.equal(book.onDiff(diff(11, 11, [[100n, 50n]])), "dropped");
    assert.equal(book.onDiff(diff(5, 12, [[99n, 50n]])), "dropped");
    assert.deepEqual(state(book), before);
  });

  it("finds a gap, stops being live and waits for a new snapshot", () => {
    const book = seeded();
    assert.equal(book.onDiff(diff(12, 12, [[100n, 1n]])), "gap"); // 11 never came
    assert.equal(book.state, "waiting");
    // the diffs that follow wait for the new snapshot (the owner subscribed again)
    assert.equal(book.onDiff(diff(13, 13, [[97n, 2n]])), "buffered");
    assert.equal(book.onDiff(diff(14, 14, [[97n, 3n]])), "buffered");
    book.onSnapshot(snapshot(13, [[97n, 2n]], [[101n, 3n]]));
    assert.deepEqual(state(book), {
      state: "live",
      lastUpdateId: 14,
      bids: [[97n, 3n]],
      asks: [[101n, 3n]],
    });
  });

  it("reports a gap between the snapshot and the first buffered diff", () => {
    const book = new BookSync();
    book.resync();
    book.onDiff(diff(15, 16, [[100n, 1n]]));
    assert.equal(book.onSnapshot(snapshot(10, [[100n, 5n]], [])), "gap");
    assert.equal(book.state, "waiting");
  });

  it("accepts a diff that overlaps the book: its levels hold their state as of u", () => {
    const book = seeded();
    book.onDiff(diff(11, 12, [[100n, 4n]]));
    assert.equal(book.onDiff(diff(12, 13, [[100n, 3n]])), "applied");
    assert.equal(book.bids.get(100n), 3n);
  });

  it("keeps its last levels when the connection drops, never as live", () => {
    const book = seeded();
    const levels = state(book);
    book.markStale();
    assert.equal(book.state, "stale");
    assert.equal(book.onDiff(diff(11, 11, [[100n, 1n]])), "dropped");
    assert.deepEqual({ ...state(book), state: "live" }, levels);
    // a new connection: resync, and only its snapshot makes the book live again
    book.resync();
    assert.equal(book.state, "waiting");
    book.onSnapshot(snapshot(30, [[90n, 1n]], [[110n, 1n]]));
    assert.deepEqual(state(book), {
      state: "live",
      lastUpdateId: 30,
      bids: [[90n, 1n]],
      asks: [[110n, 1n]],
    });
  });

  it("asks again when the snapshot does not come", () => {
    const book = new BookSync();
    book.resync();
    let last: string = "";
    for (let id = 1; id <= 2_001; id++) last = book.onDiff(diff(id, id, [[100n, 1n]]));
    assert.equal(last, "gap");
  });

  it("counts its changes for the views", () => {
    const book = seeded();
    const version = book.version;
    book.onDiff(diff(11, 11, [[100n, 1n]]));
    book.onDiff(diff(5, 6)); // dropped: no change
    assert.equal(book.version, version + 1);
  });
});

describe("the levels a book shows", () => {
  const bids = new Map<bigint, bigint>([
    [15015n, 2n],
    [15011n, 3n],
    [15009n, 5n],
    [14990n, 1n],
  ]);
  const asks = new Map<bigint, bigint>([
    [15020n, 1n],
    [15021n, 4n],
    [15035n, 2n],
  ]);

  it("are best first with cumulative totals", () => {
    assert.deepEqual(topLevels(bids, "bid", 3), [
      { price: 15015n, quantity: 2n, cumulative: 2n },
      { price: 15011n, quantity: 3n, cumulative: 5n },
      { price: 15009n, quantity: 5n, cumulative: 10n },
    ]);
    assert.deepEqual(
      topLevels(asks, "ask", 10).map((l) => l.price),
      [15020n, 15021n, 15035n],
    );
  });

  it("group by multiples of the tick: bids down, asks up", () => {
    assert.equal(groupPrice(15015n, "bid", 10n), 15010n);
    assert.equal(groupPrice(15015n, "ask", 10n), 15020n);
    assert.equal(groupPrice(15020n, "ask", 10n), 15020n);
    assert.deepEqual(topLevels(bids, "bid", 5, 10n), [
      { price: 15010n, quantity: 5n, cumulative: 5n },
      { price: 15000n, quantity: 5n, cumulative: 10n },
      { price: 14990n, quantity: 1n, cumulative: 11n },
    ]);
    assert.deepEqual(topLevels(asks, "ask", 2, 10n), [
      { price: 15020n, quantity: 1n, cumulative: 1n },
      { price: 15030n, quantity: 4n, cumulative: 5n },
    ]);
    assert.deepEqual(topLevels(asks, "ask", 5, 100n), [
      { price: 15100n, quantity: 7n, cumulative: 7n },
    ]);
  });
});

describe("a random flow against a naive book", () => {
  it("ends equal to the reference whatever the order of arrival around the snapshot", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 50; run++) {
      // the engine's book: every diff applied in order
      const reference = new Map<bigint, bigint>();
      const diffs: DepthDiff[] = [];
      let id = 0;
      let snapshotAt = 0;
      let snap: Level[] = [];
      const steps = 20 + Math.floor(random() * 40);
      const snapshotStep = Math.floor(random() * steps);
      for (let step = 0; step < steps; step++) {
        const changes: Level[] = [];
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
          const price = BigInt(90 + Math.floor(random() * 10));
          const quantity = random() < 0.3 ? 0n : BigInt(1 + Math.floor(random() * 9));
          changes.push([price, quantity]);
          if (quantity === 0n) reference.delete(price);
          else reference.set(price, quantity);
        }
        const first = id + 1;
        id += 1 + Math.floor(random() * 2); // a diff may span several update ids
        diffs.push(diff(first, id, changes));
        if (step === snapshotStep) {
          snapshotAt = id;
          snap = [...reference.entries()];
        }
      }
      // subscribed a few diffs before the snapshot was read
      const from = Math.max(0, diffs.findIndex((d) => d.u >= snapshotAt) - 3);
      const book = new BookSync();
      book.resync();
      const early = Math.floor(random() * 4);
      for (const d of diffs.slice(from, from + early)) book.onDiff(d);
      book.onSnapshot(snapshot(snapshotAt, snap, []));
      for (const d of diffs.slice(from + early)) assert.notEqual(book.onDiff(d), "gap");
      assert.deepEqual(
        [...book.bids.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
        [...reference.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      );
    }
  });
});
