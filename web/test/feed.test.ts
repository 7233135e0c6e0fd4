import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Feed, type FeedEnvironment, type SocketLike } from "../src/net/feed";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: { method: string; params?: unknown[]; id: number }[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closed = false;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  /** Answer every request not answered yet with a result (or the error given for AUTH). */
  answerAll(authError?: { code: number; msg: string }): void {
    for (const request of this.sent.splice(0)) {
      if (request.method === "AUTH" && authError !== undefined) {
        this.receive({ error: authError, id: request.id });
      } else {
        this.receive({
          result: request.method === "AUTH" ? { accountId: 7 } : null,
          id: request.id,
        });
      }
    }
  }

  drop(): void {
    this.readyState = 3;
    this.onclose?.({});
  }
}

class Clock {
  now = 1_000_000;
  timers: { at: number; callback: () => void; id: number }[] = [];
  next = 1;

  environment(sockets: FakeSocket[]): FeedEnvironment {
    return {
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      setTimeout: (callback, ms) => {
        const id = this.next++;
        this.timers.push({ at: this.now + ms, callback, id });
        return id;
      },
      clearTimeout: (id) => {
        this.timers = this.timers.filter((timer) => timer.id !== id);
      },
      random: () => 1,
      now: () => this.now,
    };
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.callback();
    }
    this.now = until;
  }
}

describe("the WebSocket feed", () => {
  let clock: Clock;
  let sockets: FakeSocket[];
  let feed: Feed;
  const last = () => sockets[sockets.length - 1]!;

  beforeEach(() => {
    clock = new Clock();
    sockets = [];
    feed = new Feed("ws://exchange/ws", clock.environment(sockets));
  });

  it("subscribes to every stream wanted and is live once they are acknowledged", () => {
    feed.subscribe(["depth@SOL_USDC", "trades@SOL_USDC"]);
    feed.start();
    assert.equal(feed.state, "connecting");
    last().open();
    assert.deepEqual(
      last().sent.map((r) => [r.method, r.params]),
      [["SUBSCRIBE", ["depth@SOL_USDC", "trades@SOL_USDC"]]],
    );
    last().answerAll();
    assert.equal(feed.state, "live");
  });

  it("hands stream messages to their handlers", () => {
    const got: unknown[] = [];
    feed.on("trades@SOL_USDC", (data) => got.push(data));
    feed.subscribe(["trades@SOL_USDC"]);
    feed.start();
    last().open();
    last().receive({ stream: "trades@SOL_USDC", data: { id: 1 } });
    last().receive({ stream: "trades@BTC_USDC", data: { id: 2 } });
    assert.deepEqual(got, [{ id: 1 }]);
  });

  it("signs in first and subscribes the private streams once AUTH is accepted", () => {
    feed.setToken("token-a");
    feed.subscribe(["orders@me", "balances@me", "ticker@SOL_USDC"]);
    feed.start();
    last().open();
    assert.deepEqual(
      last().sent.map((r) => r.method),
      ["AUTH", "SUBSCRIBE"],
    );
    assert.deepEqual(last().sent[1]!.params, ["ticker@SOL_USDC"]);
    last().answerAll();
    assert.deepEqual(
      last().sent.map((r) => [r.method, r.params]),
      [["SUBSCRIBE", ["orders@me", "balances@me"]]],
    );
  });

  it("reports a refused token", () => {
    const refused: number[] = [];
    feed.onAuthFailure((error) => refused.push(error.code));
    feed.setToken("expired");
    feed.start();
    last().open();
    last().answerAll({ code: -1002, msg: "invalid or expired token" });
    assert.deepEqual(refused, [-1002]);
    // a token that expires on the connection ends its private streams
    last().receive({ error: { code: -1002, msg: "token expired" }, id: null });
    assert.deepEqual(refused, [-1002, -1002]);
  });

  it("reconnects with growing delays and subscribes everything again", () => {
    const opened: number[] = [];
    const closed: number[] = [];
    feed.onOpen(() => opened.push(sockets.length));
    feed.onClose(() => closed.push(sockets.length));
    feed.subscribe(["depth@SOL_USDC"]);
    feed.start();
    last().open();
    last().answerAll();
    feed.subscribe(["kline_1m@SOL_USDC"]);
    last().answerAll();

    last().drop();
    assert.equal(feed.state, "reconnecting");
    assert.deepEqual(closed, [1]);
    clock.advance(499);
    assert.equal(sockets.length, 1);
    clock.advance(1);
    assert.equal(sockets.length, 2);
    last().drop(); // the server is still away
    clock.advance(999);
    assert.equal(sockets.length, 2);
    clock.advance(1);
    assert.equal(sockets.length, 3);
    last().open();
    assert.deepEqual(opened, [1, 3]);
    assert.deepEqual(
      last().sent.map((r) => [r.method, r.params]),
      [["SUBSCRIBE", ["depth@SOL_USDC", "kline_1m@SOL_USDC"]]],
    );
    assert.equal(feed.state, "reconnecting"); // not live until acknowledged
    last().answerAll();
    assert.equal(feed.state, "live");
    last().drop();
    clock.advance(500); // live again: the delays start over
    assert.equal(sockets.length, 4);
  });

  it("asks for a new snapshot by subscribing again, and forgets what is unsubscribed", () => {
    feed.subscribe(["depth@SOL_USDC"]);
    feed.start();
    last().open();
    last().answerAll();
    feed.resubscribe("depth@SOL_USDC");
    feed.unsubscribe(["depth@SOL_USDC"]);
    feed.resubscribe("depth@SOL_USDC"); // no longer held: nothing sent
    assert.deepEqual(
      last().sent.map((r) => [r.method, r.params]),
      [
        ["SUBSCRIBE", ["depth@SOL_USDC"]],
        ["UNSUBSCRIBE", ["depth@SOL_USDC"]],
      ],
    );
  });

  it("makes a new connection for another account", () => {
    feed.setToken("token-a");
    feed.start();
    last().open();
    last().answerAll();
    feed.setToken("token-b");
    assert.equal(sockets.length, 2);
    assert.equal(sockets[0]!.closed, true);
    last().open();
    assert.equal(last().sent[0]!.method, "AUTH");
    assert.deepEqual(last().sent[0]!.params, ["token-b"]);
  });

  it("closes a connection it no longer wants only once it has opened", () => {
    feed.setToken("token-a");
    feed.start();
    feed.setToken(null); // signed out while the first connection was being made
    assert.equal(sockets.length, 2);
    assert.equal(sockets[0]!.closed, false); // closing it now would make the browser warn
    sockets[0]!.open();
    assert.equal(sockets[0]!.closed, true);
    assert.deepEqual(sockets[0]!.sent, []); // never signed in nor subscribed
    last().open();
    assert.deepEqual(last().sent, []);
  });

  it("signs a signed-out connection in without reconnecting", () => {
    feed.start();
    last().open();
    last().answerAll();
    feed.setToken("token-a");
    assert.equal(sockets.length, 1);
    assert.deepEqual(
      last().sent.map((r) => r.method),
      ["AUTH"],
    );
  });

  it("drops a connection that has gone silent", () => {
    feed.subscribe(["depth@SOL_USDC"]);
    feed.start();
    last().open();
    last().answerAll();
    clock.advance(25_000);
    assert.deepEqual(
      last().sent.map((r) => r.method),
      ["LIST_SUBSCRIPTIONS"],
    );
    clock.advance(10_000);
    assert.equal(sockets[0]!.closed, true);
    assert.equal(feed.state, "reconnecting");
  });

  it("passes on server errors that answer no request", () => {
    const errors: string[] = [];
    feed.onError((error) => errors.push(error.msg));
    feed.subscribe(["depth@DOGE_USDC"]);
    feed.start();
    last().open();
    last().answerAll();
    last().receive({ error: { code: -1121, msg: "unknown market DOGE_USDC" }, id: null });
    assert.deepEqual(errors, ["unknown market DOGE_USDC"]);
  });
});
