/**
 * The public data of the market on screen: its order book (`depth@M`, kept by BookSync), its
 * trades tape (`trades@M` over the REST history) and its candles (`kline_<i>@M` over
 * `GET /klines`). Each new connection resynchronises all three; a lost one marks the book stale.
 */

import { type Level, BookSync, type DepthDiff } from "../lib/book";
import {
  type Candle,
  fromMessage,
  fromRow,
  type Interval,
  type KlineMessage,
  type KlineRow,
  mergeCandle,
} from "../lib/candles";
import { type Market, priceTicks, quantityLots } from "../lib/market";
import type { Api } from "../net/api";
import type { Feed } from "../net/feed";
import type { DepthMessage, PublicTrade } from "../net/types";
import { FrameSignal, type RequestFrame, Store } from "./store";

const TAPE_LENGTH = 60;
const CANDLES = 500;

export type CandleEvent =
  { readonly reset: true } | { readonly reset: false; readonly candle: Candle };

export class MarketData {
  readonly book = new BookSync();
  readonly bookSignal: FrameSignal;
  /** Newest first. */
  trades: PublicTrade[] = [];
  readonly tradesSignal: FrameSignal;
  readonly interval = new Store<Interval>("1m");
  candles: Candle[] = [];
  // Live candles that came in while the history was being read: newer than its rows.
  private liveDuringLoad: Candle[] = [];
  readonly candlesLoading = new Store<boolean>(true);
  private readonly candleListeners = new Set<(event: CandleEvent) => void>();
  private readonly cleanups: (() => void)[] = [];
  private active = false;

  constructor(
    readonly market: Market,
    private readonly feed: Feed,
    private readonly api: Api,
    frame: RequestFrame,
  ) {
    this.bookSignal = new FrameSignal(frame);
    this.tradesSignal = new FrameSignal(frame);
  }

  get symbol(): string {
    return this.market.symbol;
  }

  private streams(): string[] {
    const { symbol } = this;
    return [`depth@${symbol}`, `trades@${symbol}`, `kline_${this.interval.get()}@${symbol}`];
  }

  start(): void {
    this.active = true;
    const { feed, symbol } = this;
    this.cleanups.push(
      feed.on(`depth@${symbol}`, (data) => this.onDepth(data as DepthMessage)),
      feed.on(`trades@${symbol}`, (data) => this.onTrade(data as PublicTrade)),
      feed.onOpen(() => this.resynchronise()),
      feed.onClose(() => {
        this.book.markStale();
        this.bookSignal.bump();
      }),
    );
    this.listenKlines();
    this.book.resync();
    feed.subscribe(this.streams());
    void this.loadTrades();
    void this.loadCandles();
  }

  stop(): void {
    this.active = false;
    this.feed.unsubscribe(this.streams());
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.klineCleanup?.();
    this.candleListeners.clear();
  }

  setInterval(interval: Interval): void {
    const previous = this.interval.get();
    if (interval === previous) return;
    this.feed.unsubscribe([`kline_${previous}@${this.symbol}`]);
    this.interval.set(interval);
    this.listenKlines();
    this.feed.subscribe([`kline_${interval}@${this.symbol}`]);
    this.candles = [];
    this.emitCandles({ reset: true });
    void this.loadCandles();
  }

  onCandles(listener: (event: CandleEvent) => void): () => void {
    this.candleListeners.add(listener);
    return () => this.candleListeners.delete(listener);
  }

  private klineCleanup: (() => void) | undefined;

  private listenKlines(): void {
    this.klineCleanup?.();
    const interval = this.interval.get();
    this.klineCleanup = this.feed.on(`kline_${interval}@${this.symbol}`, (data) => {
      const message = data as KlineMessage;
      if (message.interval !== this.interval.get()) return;
      const candle = fromMessage(message);
      if (this.candlesLoading.get()) this.liveDuringLoad.push(candle);
      this.candles = mergeCandle(this.candles, candle);
      this.emitCandles({ reset: false, candle });
    });
  }

  private emitCandles(event: CandleEvent): void {
    for (const listener of this.candleListeners) listener(event);
  }

  /** A new connection: the book waits for its snapshot (the SUBSCRIBE the feed sends brings
   *  one); what happened while away is read again. */
  private resynchronise(): void {
    this.book.resync();
    this.bookSignal.bump();
    void this.loadTrades();
    void this.loadCandles();
  }

  private levels(raw: readonly [string, string][]): Level[] {
    const out: Level[] = [];
    for (const [price, quantity] of raw) {
      const ticks = priceTicks(this.market, price);
      const lots = quantityLots(this.market, quantity);
      if (ticks !== null && lots !== null) out.push([ticks, lots]);
    }
    return out;
  }

  private onDepth(message: DepthMessage): void {
    let result;
    if (message.e === "depthSnapshot") {
      result = this.book.onSnapshot({
        lastUpdateId: message.lastUpdateId ?? 0,
        bids: this.levels(message.bids),
        asks: this.levels(message.asks),
      });
    } else {
      const diff: DepthDiff = {
        U: message.U ?? 0,
        u: message.u ?? 0,
        bids: this.levels(message.bids),
        asks: this.levels(message.asks),
      };
      result = this.book.onDiff(diff);
    }
    if (result === "gap") {
      // A diff is missing: a new subscription brings a new snapshot to start over from.
      this.feed.resubscribe(`depth@${this.symbol}`);
    }
    this.bookSignal.bump();
  }

  private onTrade(trade: PublicTrade): void {
    if (this.trades.length > 0 && this.trades.some((t) => t.id === trade.id)) return;
    this.trades = [trade, ...this.trades].sort((a, b) => b.id - a.id).slice(0, TAPE_LENGTH);
    this.tradesSignal.bump();
  }

  private async loadTrades(): Promise<void> {
    try {
      const query = { symbol: this.symbol, limit: TAPE_LENGTH };
      const recent = await this.api.get<PublicTrade[]>("/trades", query);
      if (!this.active) return;
      const byId = new Map<number, PublicTrade>();
      for (const trade of [...recent, ...this.trades]) byId.set(trade.id, trade);
      this.trades = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, TAPE_LENGTH);
      this.tradesSignal.bump();
    } catch {
      // the tape fills from the stream; the next connection reads it again
    }
  }

  private async loadCandles(): Promise<void> {
    const interval = this.interval.get();
    this.candlesLoading.set(true);
    this.liveDuringLoad = [];
    try {
      const query = { symbol: this.symbol, interval, limit: CANDLES };
      const rows = await this.api.get<KlineRow[]>("/klines", query);
      if (!this.active || interval !== this.interval.get()) return;
      let candles = rows.map(fromRow);
      for (const candle of this.liveDuringLoad) candles = mergeCandle(candles, candle);
      this.liveDuringLoad = [];
      this.candles = candles;
      this.emitCandles({ reset: true });
    } catch {
      // the chart shows what the stream brings
    } finally {
      if (interval === this.interval.get()) this.candlesLoading.set(false);
    }
  }
}
