/**
 * The signed-in trader's own data: balances (`balances@me` over `GET /balances`), open orders
 * (`GET /orders/open`, kept current by `orders@me`), order history (`GET /orders`) and own
 * trades (`GET /myTrades` of every market at sign-in and of the market on screen, with each
 * fill `orders@me` announces merged in).
 * Placing and cancelling go through REST; what comes back updates the lists at once.
 */

import type { OrderRequest } from "../lib/orderForm";
import { mergeTrades, type OwnTrade, tradeFromApi, tradeFromUpdate } from "../lib/ownTrades";
import type { Api } from "../net/api";
import type { Feed } from "../net/feed";
import {
  type BalanceOut,
  type MyTradeOut,
  OPEN_STATUSES,
  type OrderOut,
  type OrderUpdate,
} from "../net/types";
import type { Notices } from "./notices";
import { Store } from "./store";

const HISTORY_LIMIT = 100;
const TRADES_LIMIT = 100; // of each read of GET /myTrades
const OWN_TRADES = 500; // kept in the list
// The DB processor writes the history a moment after the engine settles.
const HISTORY_DELAY_MS = 1_500;
// Orders placed elsewhere (another tab, the API) and deposits change nothing on orders@me or
// balances@me: both are read again this often while the page is in view.
const POLL_MS = 10_000;

export class Account {
  readonly balances = new Store<ReadonlyMap<string, BalanceOut> | null>(null);
  readonly openOrders = new Store<readonly OrderOut[] | null>(null);
  readonly history = new Store<readonly OrderOut[] | null>(null);
  readonly trades = new Store<readonly OwnTrade[]>([]);
  private readonly cleanups: (() => void)[] = [];
  private historyWanted = false;
  private historyTimer: number | null = null;
  private openTimer: number | null = null;
  private pollTimer: number | null = null;
  private active = false;
  private tradesMarket: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly feed: Feed,
    private readonly notices: Notices,
    private readonly describe: (update: OrderUpdate) => string | null,
  ) {}

  start(): void {
    this.active = true;
    const { feed } = this;
    this.cleanups.push(
      feed.on("balances@me", (data) => this.onBalances(data as BalanceOut[])),
      feed.on("orders@me", (data) => this.onOrder(data as OrderUpdate)),
      feed.onOpen(() => this.refresh()),
    );
    feed.subscribe(["orders@me", "balances@me"]);
    this.refresh();
    this.pollTimer = window.setInterval(() => {
      if (document.visibilityState !== "visible") return;
      void this.loadBalances();
      void this.loadOpenOrders();
    }, POLL_MS);
  }

  stop(): void {
    this.active = false;
    this.feed.unsubscribe(["orders@me", "balances@me"]);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (this.historyTimer !== null) window.clearTimeout(this.historyTimer);
    if (this.openTimer !== null) window.clearTimeout(this.openTimer);
    if (this.pollTimer !== null) window.clearInterval(this.pollTimer);
  }

  /** Everything read again: after a new connection, a refusal, a return to the page. */
  refresh(): void {
    void this.loadBalances();
    void this.loadOpenOrders();
    void this.loadTrades();
    if (this.historyWanted) void this.loadHistory();
  }

  /** The market on screen: its own trades are read too, however old. */
  showMarket(symbol: string): void {
    if (symbol === this.tradesMarket) return;
    this.tradesMarket = symbol;
    if (this.active) void this.loadTrades(symbol);
  }

  /** The history tab is shown: read it now and keep it current. */
  wantHistory(): void {
    this.historyWanted = true;
    void this.loadHistory();
  }

  async place(request: OrderRequest): Promise<OrderOut> {
    const order = await this.api.post<OrderOut>("/order", request);
    if (OPEN_STATUSES.has(order.status)) this.upsertOpen(order);
    // An order that only rests changes no order on orders@me, so balances@me says nothing of
    // what it locked: read them.
    void this.loadBalances();
    this.scheduleHistory();
    return order;
  }

  async cancel(orderId: number): Promise<OrderOut> {
    try {
      const order = await this.api.delete<OrderOut>(`/order/${orderId}`);
      this.applyState(order);
      return order;
    } finally {
      this.scheduleHistory();
    }
  }

  async cancelAll(market?: string): Promise<OrderOut[]> {
    try {
      const orders = await this.api.delete<OrderOut[]>("/orders/open", { market });
      for (const order of orders) this.applyState(order);
      return orders;
    } finally {
      void this.loadOpenOrders();
      this.scheduleHistory();
    }
  }

  async loadBalances(): Promise<void> {
    try {
      const list = await this.api.get<BalanceOut[]>("/balances");
      if (this.active) this.onBalances(list);
    } catch {
      // balances@me brings them
    }
  }

  private async loadOpenOrders(): Promise<void> {
    try {
      const orders = await this.api.get<OrderOut[]>("/orders/open");
      if (this.active) this.openOrders.set(orders.slice().sort((a, b) => b.created - a.created));
    } catch {
      // kept as they were
    }
  }

  private async loadHistory(): Promise<void> {
    try {
      const orders = await this.api.get<OrderOut[]>("/orders", { limit: HISTORY_LIMIT });
      if (this.active) this.history.set(orders);
    } catch {
      // kept as they were
    }
  }

  /** The latest trades of every market and, if one is on screen, of that market. */
  private async loadTrades(only?: string): Promise<void> {
    const markets = only !== undefined ? [only] : [undefined, this.tradesMarket ?? undefined];
    await Promise.all(
      [...new Set(markets)].map(async (market) => {
        try {
          const list = await this.api.get<MyTradeOut[]>("/myTrades", {
            market,
            limit: TRADES_LIMIT,
          });
          if (this.active) {
            this.trades.update((known) => mergeTrades(known, list.map(tradeFromApi), OWN_TRADES));
          }
        } catch {
          // kept as they were; orders@me still adds each new fill
        }
      }),
    );
  }

  private scheduleHistory(): void {
    if (!this.historyWanted) return;
    if (this.historyTimer !== null) window.clearTimeout(this.historyTimer);
    this.historyTimer = window.setTimeout(() => {
      this.historyTimer = null;
      void this.loadHistory();
    }, HISTORY_DELAY_MS);
  }

  private onBalances(list: readonly BalanceOut[]): void {
    const map = new Map<string, BalanceOut>();
    for (const balance of list) map.set(balance.asset, balance);
    this.balances.set(map);
  }

  private onOrder(update: OrderUpdate): void {
    const open = this.openOrders.get() ?? [];
    const known = open.find((order) => order.orderId === update.orderId);
    if (known !== undefined) {
      this.applyState({
        ...known,
        status: update.status,
        executedQty: update.executedQty,
        cumulativeQuoteQty: update.cumulativeQuoteQty,
        updated: update.updated,
      });
    } else if (OPEN_STATUSES.has(update.status)) {
      this.scheduleOpenOrders(); // placed elsewhere (another tab, the API): read them
    }
    const trade = tradeFromUpdate(update);
    if (trade !== null) this.trades.update((known) => mergeTrades(known, [trade], OWN_TRADES));
    const text = this.describe(update);
    if (text !== null) {
      const tone = update.tradeId !== undefined ? (update.side === "BUY" ? "buy" : "sell") : "info";
      this.notices.push(tone, text);
    }
    if (!OPEN_STATUSES.has(update.status)) this.scheduleHistory();
  }

  private scheduleOpenOrders(): void {
    if (this.openTimer !== null) return;
    this.openTimer = window.setTimeout(() => {
      this.openTimer = null;
      void this.loadOpenOrders();
    }, 200);
  }

  private upsertOpen(order: OrderOut): void {
    this.openOrders.update((list) => {
      const known = (list ?? []).find((o) => o.orderId === order.orderId);
      // A trade's update may overtake the answer to the place: the later state stays.
      if (known !== undefined && known.updated > order.updated) return list;
      const rest = (list ?? []).filter((o) => o.orderId !== order.orderId);
      return [order, ...rest].sort((a, b) => b.created - a.created);
    });
  }

  /** An order's latest state: kept in the open list while open, dropped once done. */
  private applyState(order: OrderOut): void {
    if (OPEN_STATUSES.has(order.status)) {
      this.upsertOpen(order);
    } else {
      this.openOrders.update((list) => list && list.filter((o) => o.orderId !== order.orderId));
    }
  }
}
