/**
 * A local order book kept from `depth@M`: one snapshot, then diffs, with the update-id rules of
 * the README ("Keeping a local order book"). Pure: it never touches the socket; a `gap` result
 * tells its owner to subscribe again, and the next snapshot starts it over.
 *
 * Prices are ticks and quantities lots (BigInt); a diff carries each changed level's new
 * quantity (zero removes it), so applying a diff whose ids overlap the book's is harmless.
 */

export type Level = readonly [price: bigint, quantity: bigint];

export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface DepthDiff {
  readonly U: number; // first update id in the diff
  readonly u: number; // last update id in the diff
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/**
 * waiting: subscribed, no snapshot yet (diffs are buffered); live: in sync with the engine;
 * stale: the connection is down, the levels are the last known ones and must not pass as live.
 */
export type BookState = "waiting" | "live" | "stale";
/** What one message did: `gap` means the book cannot follow any more: subscribe again. */
export type SyncResult = "buffered" | "applied" | "dropped" | "gap";

export type Side = "bid" | "ask";

export interface ViewLevel {
  readonly price: bigint; // ticks (the group's price when grouped)
  readonly quantity: bigint; // lots
  readonly cumulative: bigint; // lots, from the best level down to this one
}

// Diffs kept while the snapshot is awaited; more means it is not coming: ask again.
const MAX_BUFFERED = 2_000;

export class BookSync {
  readonly bids = new Map<bigint, bigint>();
  readonly asks = new Map<bigint, bigint>();
  state: BookState = "waiting";
  lastUpdateId = 0;
  /** Bumped by every change of the levels or the state: a cheap "did it change" for views. */
  version = 0;
  private buffered: DepthDiff[] = [];

  /** A subscription was (re)sent: wait for its snapshot, buffering diffs meanwhile. The last
   *  levels stay for display, marked as not live by the state. */
  resync(): void {
    this.state = "waiting";
    this.buffered = [];
    this.version++;
  }

  /** The connection is gone: keep the levels as they were, never as live. */
  markStale(): void {
    if (this.state === "stale") return;
    this.state = "stale";
    this.buffered = [];
    this.version++;
  }

  onSnapshot(snapshot: DepthSnapshot): SyncResult {
    if (this.state === "stale") return "dropped"; // from a connection that is gone
    replace(this.bids, snapshot.bids);
    replace(this.asks, snapshot.asks);
    this.lastUpdateId = snapshot.lastUpdateId;
    this.state = "live";
    this.version++;
    const pending = this.buffered;
    this.buffered = [];
    for (const diff of pending) {
      if (this.apply(diff) === "gap") return "gap";
    }
    return "applied";
  }

  onDiff(diff: DepthDiff): SyncResult {
    if (this.state === "stale") return "dropped";
    if (this.state === "waiting") {
      this.buffered.push(diff);
      if (this.buffered.length > MAX_BUFFERED) {
        this.resync();
        return "gap";
      }
      return "buffered";
    }
    return this.apply(diff);
  }

  private apply(diff: DepthDiff): SyncResult {
    if (diff.u <= this.lastUpdateId) return "dropped"; // already in the book
    if (diff.U > this.lastUpdateId + 1) {
      // Updates between lastUpdateId and U never reached us: this book is wrong from here.
      this.resync();
      return "gap";
    }
    update(this.bids, diff.bids);
    update(this.asks, diff.asks);
    this.lastUpdateId = diff.u;
    this.version++;
    return "applied";
  }

  best(side: Side): bigint | null {
    const levels = side === "bid" ? this.bids : this.asks;
    let best: bigint | null = null;
    for (const price of levels.keys()) {
      if (best === null || (side === "bid" ? price > best : price < best)) best = price;
    }
    return best;
  }

  /** Levels best first, `group` ticks to a row (bids round down, asks up), with totals. */
  top(side: Side, count: number, group = 1n): ViewLevel[] {
    return topLevels(side === "bid" ? this.bids : this.asks, side, count, group);
  }
}

function replace(levels: Map<bigint, bigint>, from: readonly Level[]): void {
  levels.clear();
  for (const [price, quantity] of from) {
    if (quantity > 0n) levels.set(price, quantity);
  }
}

function update(levels: Map<bigint, bigint>, changes: readonly Level[]): void {
  for (const [price, quantity] of changes) {
    if (quantity === 0n) levels.delete(price);
    else levels.set(price, quantity);
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The price a level shows under in groups of `group` ticks. */
export function groupPrice(price: bigint, side: Side, group: bigint): bigint {
  if (group <= 1n) return price;
  const floor = (price / group) * group;
  return side === "bid" || floor === price ? floor : floor + group;
}

export function topLevels(
  levels: ReadonlyMap<bigint, bigint>,
  side: Side,
  count: number,
  group = 1n,
): ViewLevel[] {
  const prices = Array.from(levels.keys()).sort(side === "bid" ? (a, b) => compare(b, a) : compare);
  const out: ViewLevel[] = [];
  let cumulative = 0n;
  let current: bigint | null = null;
  let quantity = 0n;
  for (const price of prices) {
    const grouped = groupPrice(price, side, group);
    if (current !== null && grouped !== current) {
      cumulative += quantity;
      out.push({ price: current, quantity, cumulative });
      if (out.length === count) return out;
      quantity = 0n;
    }
    current = grouped;
    quantity += levels.get(price) ?? 0n;
  }
  if (current !== null && out.length < count) {
    cumulative += quantity;
    out.push({ price: current, quantity, cumulative });
  }
  return out;
}
