/**
 * The one WebSocket connection to the exchange: it signs in (AUTH) when there is a token,
 * holds the set of streams the page wants, and when the connection drops it reconnects with
 * backoff and subscribes to every one of them again. Owners learn of each new connection
 * (`onOpen`) to resynchronise what they keep (a book waits for its new snapshot, lists are read
 * again over REST), and of each loss (`onClose`) to stop showing data as live.
 *
 * A connection belongs to one account (the server refuses AUTH for another): a new token makes
 * a new connection. The server's protocol is in the README ("The WebSocket API").
 */

import { reconnectDelay } from "../lib/backoff";

/** connecting: first attempt, or a new token; live: subscribed; reconnecting: lost, waiting. */
export type FeedState = "connecting" | "live" | "reconnecting";

export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface FeedEnvironment {
  createSocket(url: string): SocketLike;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
  now(): number;
}

export interface FeedError {
  readonly code: number;
  readonly msg: string;
}

type Handler = (data: unknown) => void;

const OPEN = 1;
const PRIVATE = new Set(["orders@me", "balances@me"]);
const MAX_PARAMS = 100; // streams in one SUBSCRIBE
const UNAUTHORIZED = -1002;
// With nothing received for this long, ask the server something; with no answer either, the
// connection is dead even if the browser has not noticed: drop it and reconnect.
const QUIET_MS = 25_000;
const ANSWER_MS = 10_000;

export function browserEnvironment(): FeedEnvironment {
  return {
    createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
    random: () => Math.random(),
    now: () => Date.now(),
  };
}

export class Feed {
  state: FeedState = "connecting";
  /** When the next attempt starts (epoch ms), while reconnecting. */
  retryAt: number | null = null;
  private readonly streams = new Set<string>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly stateListeners = new Set<() => void>();
  private readonly openListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();
  private readonly errorListeners = new Set<(error: FeedError) => void>();
  private readonly authListeners = new Set<(error: FeedError) => void>();
  private socket: SocketLike | null = null;
  private token: string | null = null;
  private authenticated = false;
  private attempt = 0;
  private nextId = 1;
  private retryTimer: unknown = null;
  private watchTimer: unknown = null;
  private lastHeard = 0;
  private probing = false;
  private running = false;

  constructor(
    private readonly url: string,
    private readonly env: FeedEnvironment,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) retire(socket, "page closed");
  }

  /** Sign the connection in as another account (or out, with null): a new connection. */
  setToken(token: string | null): void {
    if (token === this.token) return;
    this.token = token;
    if (!this.running) return;
    if (token !== null && !this.authenticated && this.isOpen()) {
      this.authenticate(token); // signed out until now: this connection can take the account
      return;
    }
    this.restart();
  }

  subscribe(streams: readonly string[]): void {
    const added = streams.filter((stream) => !this.streams.has(stream));
    for (const stream of added) this.streams.add(stream);
    const sendable = added.filter((stream) => !PRIVATE.has(stream) || this.authenticated);
    if (this.isOpen() && sendable.length > 0) this.request("SUBSCRIBE", sendable);
  }

  unsubscribe(streams: readonly string[]): void {
    const removed = streams.filter((stream) => this.streams.delete(stream));
    if (this.isOpen() && removed.length > 0) this.request("UNSUBSCRIBE", removed);
  }

  /** Subscribe again to a stream held already: the server sends a new snapshot of it. */
  resubscribe(stream: string): void {
    if (this.isOpen() && this.streams.has(stream)) this.request("SUBSCRIBE", [stream]);
  }

  on(stream: string, handler: Handler): () => void {
    let set = this.handlers.get(stream);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(stream, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  onState(listener: () => void): () => void {
    return listen(this.stateListeners, listener);
  }

  /** A connection opened (the first or a new one): resynchronise. */
  onOpen(listener: () => void): () => void {
    return listen(this.openListeners, listener);
  }

  /** The connection was lost: what came from it is no longer live. */
  onClose(listener: () => void): () => void {
    return listen(this.closeListeners, listener);
  }

  /** A server error not tied to a request of ours (a delisted market, an expired token). */
  onError(listener: (error: FeedError) => void): () => void {
    return listen(this.errorListeners, listener);
  }

  /** The token was refused, or has expired on this connection. */
  onAuthFailure(listener: (error: FeedError) => void): () => void {
    return listen(this.authListeners, listener);
  }

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  private setState(state: FeedState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener();
  }

  private restart(): void {
    const socket = this.socket;
    this.socket = null;
    this.clearTimers();
    if (socket !== null) {
      retire(socket, "signed in as another account");
      for (const listener of this.closeListeners) listener();
    }
    this.attempt = 0;
    this.setState("connecting");
    this.connect();
  }

  private connect(): void {
    this.retryTimer = null;
    this.retryAt = null;
    this.authenticated = false;
    let socket: SocketLike;
    try {
      socket = this.env.createSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.lastHeard = this.env.now();
      this.watch();
      for (const listener of this.openListeners) listener();
      if (this.token !== null) this.authenticate(this.token);
      const open = [...this.streams].filter((stream) => !PRIVATE.has(stream));
      this.subscribeInBatches(open, true);
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.lastHeard = this.env.now();
      this.probing = false;
      if (typeof event.data === "string") this.receive(event.data);
    };
    socket.onerror = () => {
      // onclose follows and decides
    };
    socket.onclose = () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.authenticated = false;
      this.clearTimers();
      for (const listener of this.closeListeners) listener();
      if (this.running) this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    const delay = reconnectDelay(this.attempt, this.env.random());
    this.attempt += 1;
    this.retryAt = this.env.now() + delay;
    this.setState("reconnecting");
    this.retryTimer = this.env.setTimeout(() => this.connect(), delay);
  }

  private subscribeInBatches(streams: readonly string[], goLive: boolean): void {
    if (streams.length === 0) {
      if (goLive) this.becomeLive();
      return;
    }
    for (let i = 0; i < streams.length; i += MAX_PARAMS) {
      const batch = streams.slice(i, i + MAX_PARAMS);
      const last = i + MAX_PARAMS >= streams.length;
      this.request("SUBSCRIBE", batch, (ok, error) => {
        if (!ok && error !== undefined) {
          for (const listener of this.errorListeners) listener(error);
        }
        if (last && goLive) this.becomeLive();
      });
    }
  }

  private becomeLive(): void {
    this.attempt = 0;
    this.retryAt = null;
    this.setState("live");
  }

  private authenticate(token: string): void {
    this.request("AUTH", [token], (ok, error) => {
      if (token !== this.token) return;
      if (ok) {
        this.authenticated = true;
        const own = [...this.streams].filter((stream) => PRIVATE.has(stream));
        this.subscribeInBatches(own, false);
      } else if (error !== undefined) {
        for (const listener of this.authListeners) listener(error);
      }
    });
  }

  private readonly waiting = new Map<number, (ok: boolean, error?: FeedError) => void>();

  private request(
    method: string,
    params: readonly string[],
    done?: (ok: boolean, error?: FeedError) => void,
  ): void {
    if (!this.isOpen() || this.socket === null) return;
    const id = this.nextId++;
    if (done !== undefined) this.waiting.set(id, done);
    this.socket.send(JSON.stringify({ method, params, id }));
  }

  private receive(text: string): void {
    let message: {
      stream?: unknown;
      data?: unknown;
      id?: unknown;
      error?: { code?: unknown; msg?: unknown };
    };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.stream === "string") {
      const handlers = this.handlers.get(message.stream);
      if (handlers !== undefined) for (const handler of handlers) handler(message.data);
      return;
    }
    const error =
      message.error !== undefined
        ? {
            code: typeof message.error.code === "number" ? message.error.code : 0,
            msg: typeof message.error.msg === "string" ? message.error.msg : "error",
          }
        : undefined;
    if (typeof message.id === "number") {
      const done = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (done !== undefined) done(error === undefined, error);
      else if (error !== undefined) for (const listener of this.errorListeners) listener(error);
      return;
    }
    if (error !== undefined) {
      if (error.code === UNAUTHORIZED) {
        // The token expired on this connection: its private streams have ended.
        this.authenticated = false;
        for (const listener of this.authListeners) listener(error);
      } else {
        for (const listener of this.errorListeners) listener(error);
      }
    }
  }

  private watch(): void {
    this.watchTimer = this.env.setTimeout(() => {
      if (!this.isOpen()) return;
      const quiet = this.env.now() - this.lastHeard;
      if (this.probing && quiet >= QUIET_MS + ANSWER_MS) {
        this.socket?.close(4000, "no answer");
        // Some browsers take long to fire onclose on a dead link: act now.
        const onclose = this.socket?.onclose;
        if (onclose) onclose({});
        return;
      }
      if (!this.probing && quiet >= QUIET_MS) {
        this.probing = true;
        this.socket?.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: this.nextId++ }));
      }
      this.watch();
    }, 5_000);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.env.clearTimeout(this.retryTimer);
    if (this.watchTimer !== null) this.env.clearTimeout(this.watchTimer);
    this.retryTimer = null;
    this.watchTimer = null;
    this.probing = false;
    this.waiting.clear();
  }
}

const CONNECTING = 0;

/** Close a connection this feed is done with, its events ignored from now on. One still
 *  connecting is closed once open (closing it before makes the browser log a warning). */
function retire(socket: SocketLike, reason: string): void {
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
  if (socket.readyState === CONNECTING) {
    socket.onopen = () => socket.close(1000, reason);
  } else {
    socket.onopen = null;
    socket.close(1000, reason);
  }
}

function listen<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => set.delete(listener);
}
