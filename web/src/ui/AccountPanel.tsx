import { useId, useState } from "react";
import { groupThousands, trimZeros } from "../lib/decimal";
import { dateTime } from "../lib/format";
import { averagePrice } from "../lib/market";
import { describeReason } from "../lib/orderForm";
import { ApiError } from "../net/api";
import type { OrderOut } from "../net/types";
import type { Account } from "../state/account";
import { useExchange, useMaybeStore, useStore } from "./hooks";

type Tab = "open" | "history" | "trades";
const TABS: { id: Tab; label: string }[] = [
  { id: "open", label: "Open orders" },
  { id: "history", label: "Order history" },
  { id: "trades", label: "My trades" },
];

function sideClass(side: string): string {
  return side === "BUY" ? "buy" : "sell";
}

function sideText(side: string): string {
  return side === "BUY" ? "Buy" : "Sell";
}

function typeText(order: OrderOut): string {
  const type = order.type === "MARKET" ? "Market" : "Limit";
  return `${type} ${order.timeInForce}`;
}

function OpenOrders(props: { account: Account; symbol: string }) {
  const exchange = useExchange();
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
        <div className="scroll-x">
          <table className="orders">
            <thead>
              <tr>
                <th scope="col" className="wide-only">
                  Time
                </th>
                <th scope="col">Market</th>
                <th scope="col">Side</th>
                <th scope="col" className="wide-only">
                  Type
                </th>
                <th scope="col" className="num">
                  Price
                </th>
                <th scope="col" className="num">
                  Quantity
                </th>
                <th scope="col" className="num">
                  Filled
                </th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((order) => {
                const market = exchange.marketOf(order.market);
                return (
                  <tr key={order.orderId} data-order-id={order.orderId}>
                    <td className="muted wide-only">{dateTime(order.created)}</td>
                    <td>
                      <a
                        href={`/trade/${order.market}`}
                        onClick={(event) => {
                          event.preventDefault();
                          exchange.navigate(order.market);
                        }}
                      >
                        {market ? `${market.base}/${market.quote}` : order.market}
                      </a>
                    </td>
                    <td className={sideClass(order.side)}>{sideText(order.side)}</td>
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
                );
              })}
            </tbody>
          </table>
        </div>
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
    <div className="scroll-x">
      <table className="orders">
        <thead>
          <tr>
            <th scope="col" className="wide-only">
              Time
            </th>
            <th scope="col">Market</th>
            <th scope="col">Side</th>
            <th scope="col" className="wide-only">
              Type
            </th>
            <th scope="col" className="num">
              Price
            </th>
            <th scope="col" className="num">
              Quantity
            </th>
            <th scope="col" className="num">
              Filled
            </th>
            <th scope="col" className="num">
              Average
            </th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((order) => {
            const market = exchange.marketOf(order.market);
            const executed = trimZeros(order.executedQty) !== "0";
            const average =
              market && executed
                ? averagePrice(market, order.cumulativeQuoteQty, order.executedQty)
                : null;
            return (
              <tr key={order.orderId} data-order-id={order.orderId}>
                <td className="muted wide-only">{dateTime(order.updated)}</td>
                <td>{market ? `${market.base}/${market.quote}` : order.market}</td>
                <td className={sideClass(order.side)}>{sideText(order.side)}</td>
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
        </tbody>
      </table>
    </div>
  );
}

function MyTrades(props: { account: Account }) {
  const exchange = useExchange();
  const trades = useStore(props.account.trades);
  if (trades.length === 0) {
    return (
      <p className="empty">
        No trades since you signed in on this page. Filled orders are in the order history.
      </p>
    );
  }
  return (
    <div className="scroll-x">
      <table className="orders">
        <thead>
          <tr>
            <th scope="col" className="wide-only">
              Time
            </th>
            <th scope="col">Market</th>
            <th scope="col">Side</th>
            <th scope="col" className="num">
              Price
            </th>
            <th scope="col" className="num">
              Quantity
            </th>
            <th scope="col" className="num">
              Fee
            </th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((trade) => {
            const market = exchange.marketOf(trade.market);
            return (
              <tr key={trade.key}>
                <td className="muted wide-only">{dateTime(trade.time)}</td>
                <td>{market ? `${market.base}/${market.quote}` : trade.market}</td>
                <td className={sideClass(trade.side)}>{sideText(trade.side)}</td>
                <td className="num">{groupThousands(trade.price)}</td>
                <td className="num">{groupThousands(trade.qty)}</td>
                <td className="num">
                  {groupThousands(trade.fee)} {trade.feeAsset}
                </td>
                <td>{trade.maker ? "Maker" : "Taker"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Open orders, order history and this session's trades, as tabs. */
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
