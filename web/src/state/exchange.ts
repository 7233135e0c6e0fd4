/**
 * The app's model, built once: the REST client, the one WebSocket feed, the session, the
 * listed markets with their live tickers, the market on screen (from the URL) and the signed-in
 * account. Views read its stores; nothing here touches the DOM beyond the URL and the title.
 */

import {
  formatQuantity,
  type Market,
  marketFromApi,
  type MarketOut,
  priceTicks,
  formatPrice,
  quantityLots,
} from "../lib/market";
import { trimZeros } from "../lib/decimal";
import { Api } from "../net/api";
import { browserEnvironment, Feed, type FeedState } from "../net/feed";
import type { OrderUpdate, TickerOut } from "../net/types";
import { Account } from "./account";
import { readConfig, type WebConfig, wsUrl } from "./config";
import { MarketData } from "./marketData";
import { Notices } from "./notices";
import { pathForSymbol, symbolFromPath } from "./route";
import { Session } from "./session";
import { browserFrame, Store } from "./store";

export interface Connection {
  readonly state: FeedState;
  readonly retryAt: number | null;
}

/** A price the trader picked (a click on the book): the form takes it. */
export interface PickedPrice {
  readonly price: string;
  readonly seq: number;
}

export class Exchange {
  readonly config: WebConfig;
  readonly api: Api;
  readonly feed: Feed;
  readonly session: Session;
  readonly notices = new Notices();
  readonly markets = new Store<readonly Market[] | null>(null);
  readonly marketsError = new Store<string | null>(null);
  readonly tickers = new Store<ReadonlyMap<string, TickerOut>>(new Map());
  readonly symbol = new Store<string | null>(null);
  readonly current = new Store<MarketData | null>(null);
  readonly account = new Store<Account | null>(null);
  readonly connection: Store<Connection>;
  readonly pickedPrice = new Store<PickedPrice | null>(null);
  private readonly frame = browserFrame();
  private tickerStreams: string[] = [];

  constructor() {
    this.config = readConfig(document);
    this.session = new Session(window.sessionStorage, () => this.api);
    this.api = new Api({
      token: () => this.session.token(),
      unauthorized: () => this.session.expire(),
    });
    this.feed = new Feed(wsUrl(this.config, window.location), browserEnvironment());
    this.connection = new Store<Connection>({ state: this.feed.state, retryAt: null });
  }

  start(): void {
    const { feed, session } = this;
    feed.onState(() => this.connection.set({ state: feed.state, retryAt: feed.retryAt }));
    feed.onOpen(() => void this.loadTickers());
    feed.onAuthFailure(() => session.expire());
    feed.onError((error) => this.notices.push("error", error.msg));
    session.info.subscribe(() => this.onSession());
    session.restore();
    feed.setToken(session.token());
    this.onSession();
    feed.start();
    window.addEventListener("popstate", () => this.route());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.account.get()?.refresh();
    });
    void this.loadMarkets();
  }

  marketOf(symbol: string): Market | undefined {
    return this.markets.get()?.find((market) => market.symbol === symbol);
  }

  navigate(symbol: string): void {
    if (symbol === this.symbol.get()) return;
    window.history.pushState(null, "", pathForSymbol(symbol));
    this.route();
  }

  pickPrice(price: string): void {
    this.pickedPrice.set({ price, seq: (this.pickedPrice.get()?.seq ?? 0) + 1 });
  }

  async loadMarkets(): Promise<void> {
    try {
      const listed = await this.api.get<MarketOut[]>("/markets");
      const markets = listed.map(marketFromApi).sort((a, b) => a.symbol.localeCompare(b.symbol));
      this.markets.set(markets);
      this.marketsError.set(null);
      this.tickerStreams = markets.map((market) => `ticker@${market.symbol}`);
      for (const stream of this.tickerStreams) {
        this.feed.on(stream, (data) => this.onTicker(data as TickerOut));
      }
      this.feed.subscribe(this.tickerStreams);
      void this.loadTickers();
      this.route();
    } catch (error) {
      this.marketsError.set(error instanceof Error ? error.message : String(error));
      window.setTimeout(() => void this.loadMarkets(), 3_000);
    }
  }

  private async loadTickers(): Promise<void> {
    try {
      const list = await this.api.get<TickerOut[]>("/tickers");
      const map = new Map(this.tickers.get());
      for (const ticker of list) map.set(ticker.symbol, ticker);
      this.tickers.set(map);
    } catch {
      // the stream brings them
    }
  }

  private onTicker(ticker: TickerOut): void {
    const map = new Map(this.tickers.get());
    map.set(ticker.symbol, ticker);
    this.tickers.set(map);
  }

  /** The market the URL names, or the first one listed (the URL then says so). */
  private route(): void {
    const markets = this.markets.get();
    if (markets === null || markets.length === 0) return;
    const wanted = symbolFromPath(window.location.pathname);
    let market = wanted === null ? undefined : this.marketOf(wanted);
    if (market === undefined) {
      if (wanted !== null)
        this.notices.push("error", `No market ${wanted}: showing ${markets[0]!.symbol}`);
      market = markets[0]!;
    }
    const path = pathForSymbol(market.symbol);
    if (window.location.pathname !== path) window.history.replaceState(null, "", path);
    if (market.symbol === this.symbol.get()) return;
    this.current.get()?.stop();
    const data = new MarketData(market, this.feed, this.api, this.frame);
    this.symbol.set(market.symbol);
    this.account.get()?.showMarket(market.symbol);
    this.current.set(data);
    data.start();
  }

  private onSession(): void {
    const info = this.session.info.get();
    this.feed.setToken(info?.token ?? null);
    const account = this.account.get();
    if (info === null && account !== null) {
      account.stop();
      this.account.set(null);
    } else if (info !== null && account === null) {
      const created = new Account(this.api, this.feed, this.notices, (update) =>
        this.describe(update),
      );
      const symbol = this.symbol.get();
      if (symbol !== null) created.showMarket(symbol);
      this.account.set(created);
      created.start();
    }
  }

  /** What a trader is told of an update of their order, or null for nothing. */
  private describe(update: OrderUpdate): string | null {
    const market = this.marketOf(update.market);
    const buy = update.side === "BUY";
    const pair = market ? `${market.base}/${market.quote}` : update.market;
    if (
      update.tradeId !== undefined &&
      update.lastPrice !== undefined &&
      update.lastQty !== undefined
    ) {
      let qty = update.lastQty;
      let price = update.lastPrice;
      if (market !== undefined) {
        const lots = quantityLots(market, qty);
        const ticks = priceTicks(market, price);
        if (lots !== null) qty = formatQuantity(market, lots);
        if (ticks !== null) price = formatPrice(market, ticks);
      }
      const base = market?.base ?? "";
      return `${buy ? "Bought" : "Sold"} ${trimZeros(qty)} ${base} at ${price} (${pair}, order ${update.orderId})`;
    }
    if (update.status === "EXPIRED" || update.status === "REJECTED") {
      return `Order ${update.orderId} (${pair}) ${update.status.toLowerCase()}`;
    }
    return null;
  }
}
