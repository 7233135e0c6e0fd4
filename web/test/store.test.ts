import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FrameSignal, Store } from "../src/state/store";

describe("render batching", () => {
  it("turns any number of changes in a frame into one render", () => {
    const frames: (() => void)[] = [];
    const signal = new FrameSignal((callback) => frames.push(callback));
    let renders = 0;
    signal.subscribe(() => renders++);
    for (let i = 0; i < 100; i++) signal.bump(); // 100 diffs before the next frame
    assert.equal(frames.length, 1);
    assert.equal(renders, 0);
    frames.shift()!();
    assert.equal(renders, 1);
    assert.equal(signal.get(), 1);
    signal.bump();
    frames.shift()!();
    assert.equal(renders, 2);
  });

  it("a store tells its listeners only of a new value", () => {
    const store = new Store(1);
    let calls = 0;
    const stop = store.subscribe(() => calls++);
    store.set(1);
    store.set(2);
    store.update((n) => n + 1);
    assert.equal(store.get(), 3);
    assert.equal(calls, 2);
    stop();
    store.set(4);
    assert.equal(calls, 2);
  });
});
