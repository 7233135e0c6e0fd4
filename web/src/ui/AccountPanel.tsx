import { type ReactNode, useId, useState } from "react";
import { groupThousands, trimZeros } from "../lib/decimal";
import { dateTime } from "../lib/format";
import { averagePrice } from "../lib/market";
import { describeReason } from "../lib/orderForm";
import { ApiError } from "../net/api";
import type { OrderOut } from "../net/types";
import type { Account } from "../state/account";
import { useExchange, useMaybeStore, useStore } from "./hooks";
import { type Column, MarketLink, pairName, sideClass, sideText, TableHead } from "./Table";

type Tab = "open" | "history" | "trades";
const TABS: { id: Tab; label: string }[] = [
  { id: "open", label: "Open orders" },
  { id: "history", label: "Order history" },
  { id: "trades", label: "My trades" },
];

/** One of the tab's tables: it scrolls sideways on a narrow screen. */
function OrdersTable(props: { columns: readonly Column[]; children: ReactNode }) {
  return (
    <div className="scroll-x">
      <table className="orders">
        <TableHead columns={props.columns} />
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** The cells every row starts with: when, which market (a link to it), which side. */
function LeadCells(props: { time: number; symbol: string; side: string }) {
  const exchange = useExchange();
  return (
    <>
      <td className="muted wide-only">{dateTime(props.time)}</td>
      <td>
        <MarketLink symbol={props.symbol}>{pairName(exchange, props.symbol)}</MarketLink>
      </td>
      <td className={sideClass(props.side)}>{sideText(props.side)}</td>
    </>
  );
}

// The columns of LeadCells, then the others of each table.
const LEAD: readonly Column[] = [
  { label: "Time", wide: true },
  { label: "Market" },
  { label: "Side" },
];
const PRICE: Column = { label: "Price", num: true };
const QUANTITY: Column = { label: "Quantity", num: true };
const ORDER: readonly Column[] = [
  ...LEAD,
  { label: "Type", wide: true },
  PRICE,
  QUANTITY,
  { label: "Filled", num: true },
];
const OPEN_COLUMNS = [...ORDER, { label: <span className="sr-only">Actions</span> }];
const HISTORY_COLUMNS = [...ORDER, { label: "Average", num: true }, { label: "Status" }];
const TRADE_COLUMNS = [...LEAD, PRICE, QUANTITY, { label: "Fee", num: true }, { label: "Role" }];

// Order types as a trader reads them; stops (placed through the API) show with their stop price.
const TYPE_TEXT: Record<string, string> = {
  LIMIT: "Limit",
  MARKET: "Market",
  STOP_LOSS: "Stop-loss",
  STOP_LOSS_LIMIT: "Stop-loss limit",
  TAKE_PROFIT: "Take-profit",
  TAKE_PROFIT_LIMIT: "Take-profit limit",
};

function typeText(order: OrderOut): string {
  const type = TYPE_TEXT[order.type] ?? order.type;
  const stop = order.stopPrice ? ` @ ${groupThousands(order.stopPrice)}` : "";
  return `${type}${stop} ${order.timeInForce}`;
}

function OpenOrders(props: { account: Account; symbol: string }) {
  const orders = useStore(props.account.openOrders);
  const [busy, setBusy] = useState<number | "all" | null>(null);
  const [onlyThis, setOnlyThis] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const shown = (orders ?? []).filter((order) => !onlyThis || order.market === props.symbol);

  const cancel = async (order: OrderOut) => {
    setBusy(order.orderId);
    setMessage(null);
    try {
      const done = await props.account.cancel(order.orderId);
      setMessage(
        `Order ${done.orderId} ${done.status === "CANCELED" ? "cancelled" : done.status.toLowerCase()}`,
      );
    } catch (error) {
      setMessage(`Cancel refused: ${error instanceof ApiError ? error.message : String(error)}`);
    } finally {
      setBusy(null);
    }
  };

  const cancelAll = async () => {
    setBusy("all");
    setMessage(null);
    try {
      const done = await props.account.cancelAll(onlyThis ? props.symbol : undefined);
      const cancelled = done.filter((order) => order.status === "CANCELED").length;
      setMessage(`${cancelled} order${cancelled === 1 ? "" : "s"} cancelled`);
    } catch (error) {
      setMessage(
        `Cancel all refused: ${error instanceof ApiError ? error.message : String(error)}`,
      );
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <div className="toolbar">
        <label className="check">
          <input
            type="checkbox"
            checked={onlyThis}
            onChange={(e) => setOnlyThis(e.target.checked)}
          />
          {props.symbol} only
        </label>
        <span className="status-text" role="status">
          {message}
        </span>
        <button
          type="button"
          className="secondary danger"
          disabled={shown.length === 0 || busy !== null}
          onClick={() => void cancelAll()}
        >
          Cancel all
        </button>
      </div>
      {orders === null ? (
        <p className="empty">Loading…</p>
      ) : shown.length === 0 ? (
        <p className="empty">No open orders.</p>
      ) : (
        <OrdersTable columns={OPEN_COLUMNS}>
          {shown.map((order) => (
            <tr key={order.orderId} data-order-id={order.orderId}>
              <LeadCells time={order.created} symbol={order.market} side={order.side} />
              <td className="wide-only">{typeText(order)}</td>
              <td className="num">{groupThousands(order.price)}</td>
              <td className="num">{groupThousands(order.quantity)}</td>
              <td className="num">{groupThousands(order.executedQty)}</td>
              <td className="num">
                <button
                  type="button"
                  className="secondary small"
                  disabled={busy !== null}
                  onClick={() => void cancel(order)}
                  title={`Cancel order ${order.orderId}`}
                >
                  Cancel
                </button>
              </td>
            </tr>
          ))}
        </OrdersTable>
      )}
    </>
  );
}

function statusText(order: OrderOut): string {
  const text = order.status.replace("_", " ").toLowerCase();
  const pretty = text === "canceled" ? "cancelled" : text;
  return order.reason ? `${pretty}: ${describeReason(order.reason)}` : pretty;
}

function OrderHistory(props: { account: Account }) {
  const exchange = useExchange();
  const orders = useStore(props.account.history);
  if (orders === null) return <p className="empty">Loading…</p>;
  if (orders.length === 0) return <p className="empty">No orders yet.</p>;
  return (
    <OrdersTable columns={HISTORY_COLUMNS}>
      {orders.map((order) => {
        const market = exchange.marketOf(order.market);
        const executed = trimZeros(order.executedQty) !== "0";
        const average =
          market && executed
            ? averagePrice(market, order.cumulativeQuoteQty, order.executedQty)
            : null;
        return (
          <tr key={order.orderId} data-order-id={order.orderId}>
            <LeadCells time={order.updated} symbol={order.market} side={order.side} />
            <td className="wide-only">{typeText(order)}</td>
            <td className="num">
              {order.type === "MARKET" ? "Market" : groupThousands(order.price)}
            </td>
            <td className="num">{groupThousands(order.quantity)}</td>
            <td className="num">{groupThousands(order.executedQty)}</td>
            <td className="num">{average === null ? "–" : groupThousands(average)}</td>
            <td>{statusText(order)}</td>
          </tr>
        );
      })}
    </OrdersTable>
  );
}

function MyTrades(props: { account: Account }) {
  const trades = useStore(props.account.trades);
  if (trades.length === 0) {
    return <p className="empty">No trades yet.</p>;
  }
  return (
    <OrdersTable columns={TRADE_COLUMNS}>
      {trades.map((trade) => (
        <tr key={trade.key} data-order-id={trade.orderId} data-trade-id={trade.tradeId}>
          <LeadCells time={trade.time} symbol={trade.market} side={trade.side} />
          <td className="num">{groupThousands(trade.price)}</td>
          <td className="num">{groupThousands(trade.qty)}</td>
          <td className="num">
            {groupThousands(trade.fee)} {trade.feeAsset}
          </td>
          <td>{trade.maker ? "Maker" : "Taker"}</td>
        </tr>
      ))}
    </OrdersTable>
  );
}

/** Open orders, order history and own trades, as tabs. */
export function AccountPanel(props: { symbol: string; active: boolean }) {
  const exchange = useExchange();
  const account = useStore(exchange.account);
  const open = useMaybeStore(account?.openOrders);
  const [tab, setTab] = useState<Tab>("open");
  const base = useId();
  const count = open?.length ?? 0;
  const choose = (next: Tab) => {
    setTab(next);
    if (next === "history") account?.wantHistory();
  };
  const current = TABS.find((t) => t.id === tab)!;
  return (
    <section
      className="panel account-panel"
      aria-labelledby={`${base}-${tab}-title`}
      data-area="account"
      data-active={props.active ? "" : undefined}
    >
      <header className="panel-head">
        <div role="tablist" aria-label="Your orders and trades" className="tabs">
          {TABS.map((item) => (
            <button
              key={item.id}
              type="button"
              role="tab"
              id={`${base}-${item.id}-tab`}
              aria-selected={tab === item.id}
              aria-controls={`${base}-panel`}
              tabIndex={tab === item.id ? 0 : -1}
              className="tab"
              onClick={() => choose(item.id)}
              onKeyDown={(event) => {
                const index = TABS.findIndex((t) => t.id === tab);
                const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
                if (step === 0) return;
                const next = TABS[(index + step + TABS.length) % TABS.length]!;
                choose(next.id);
                document.getElementById(`${base}-${next.id}-tab`)?.focus();
              }}
            >
              {item.label}
              {item.id === "open" && count > 0 && (
                <span className="count" aria-hidden="true">
                  {count}
                </span>
              )}
            </button>
          ))}
        </div>
      </header>
      <div
        className="panel-body"
        role="tabpanel"
        id={`${base}-panel`}
        aria-labelledby={`${base}-${tab}-tab`}
      >
        <h2 id={`${base}-${tab}-title`} className="sr-only">
          {current.label}
        </h2>
        {account === null ? (
          <p className="empty">Sign in to see your orders and trades.</p>
        ) : tab === "open" ? (
          <OpenOrders account={account} symbol={props.symbol} />
        ) : tab === "history" ? (
          <OrderHistory account={account} />
        ) : (
          <MyTrades account={account} />
        )}
      </div>
    </section>
  );
}
