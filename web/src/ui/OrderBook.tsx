import { type CSSProperties, memo, useState } from "react";
import { type ViewLevel } from "../lib/book";
import { groupThousands } from "../lib/decimal";
import { ratioPercent } from "../lib/format";
import { formatPrice, formatQuantity, type Market, stepLabel } from "../lib/market";
import type { MarketData } from "../state/marketData";
import { useExchange, useSignal } from "./hooks";
import { Panel } from "./Panel";
import { priceAmountColumns, TableHead } from "./Table";

const ROWS = 14;
const GROUPS = [1n, 10n, 100n, 1000n];

const STATES = {
  live: "Live",
  waiting: "Syncing…",
  stale: "Not live: reconnecting",
} as const;

const Row = memo(function Row(props: {
  market: Market;
  level: ViewLevel;
  side: "bid" | "ask";
  max: bigint;
  onPick: (price: string) => void;
}) {
  const { market, level, side, max } = props;
  const price = formatPrice(market, level.price);
  // Per-mille of the deepest cumulative size on screen: the bar behind the row.
  const width = max > 0n ? Number((level.cumulative * 1000n) / max) / 10 : 0;
  return (
    <tr
      className={`level ${side}`}
      style={{ "--depth": `${width}%` } as CSSProperties}
      onClick={() => props.onPick(price)}
      data-price={price}
      data-qty={formatQuantity(market, level.quantity)}
    >
      <td className={`price ${side === "bid" ? "buy" : "sell"}`}>{groupThousands(price)}</td>
      <td className="num">{groupThousands(formatQuantity(market, level.quantity))}</td>
      <td className="num muted">{groupThousands(formatQuantity(market, level.cumulative))}</td>
    </tr>
  );
});

function Rows(props: {
  market: Market;
  levels: readonly ViewLevel[];
  side: "bid" | "ask";
  max: bigint;
  onPick: (price: string) => void;
}) {
  const { levels, ...each } = props;
  return levels.map((level) => <Row key={level.price.toString()} level={level} {...each} />);
}

export function OrderBook(props: { data: MarketData; active: boolean }) {
  const { data } = props;
  const exchange = useExchange();
  useSignal(data.bookSignal);
  useSignal(data.tradesSignal);
  const [group, setGroup] = useState(1n);
  const { market, book } = data;
  const asks = book.top("ask", ROWS, group);
  const bids = book.top("bid", ROWS, group);
  const max = [asks[asks.length - 1], bids[bids.length - 1]].reduce(
    (deepest, level) =>
      level !== undefined && level.cumulative > deepest ? level.cumulative : deepest,
    0n,
  );
  const bestBid = book.best("bid");
  const bestAsk = book.best("ask");
  const last = data.trades[0];
  const pick = (price: string) => exchange.pickPrice(price);
  let spread = "";
  if (bestBid !== null && bestAsk !== null) {
    const gap = bestAsk - bestBid;
    spread = `${formatPrice(market, gap)} (${ratioPercent(gap * 2n, bestAsk + bestBid)})`;
  }
  const state = book.state;
  // Blank rows over the asks, as many as there are more bids: the spread stays between the
  // two sides as the eye expects it, and a side with no orders shows as empty.
  const padding = Math.max(0, bids.length - asks.length);
  return (
    <Panel
      title="Order book"
      area="book"
      active={props.active}
      state={state}
      className="book-panel"
      actions={
        <div className="panel-actions">
          <span className={`badge ${state}`} role="status">
            {STATES[state]}
          </span>
          <label className="compact">
            <span className="sr-only">Group by</span>
            <select
              value={group.toString()}
              onChange={(event) => setGroup(BigInt(event.target.value))}
              title="Group price levels"
            >
              {GROUPS.map((multiple) => (
                <option key={multiple.toString()} value={multiple.toString()}>
                  {stepLabel(market, multiple)}
                </option>
              ))}
            </select>
          </label>
        </div>
      }
    >
      <div className={`book ${state === "live" ? "" : "not-live"}`} aria-busy={state !== "live"}>
        {state !== "live" && (
          <p className="book-overlay">
            {state === "stale"
              ? "Connection lost: this book is not live. Reconnecting…"
              : "Loading the order book…"}
          </p>
        )}
        <table className="book-table">
          <caption className="sr-only">Asks, lowest last</caption>
          <TableHead
            columns={priceAmountColumns(market, { label: `Total (${market.base})`, num: true })}
          />
          <tbody className="asks">
            {Array.from({ length: padding }, (_, i) => (
              <tr key={`pad${i}`} className="level pad" aria-hidden="true">
                <td colSpan={3}>&nbsp;</td>
              </tr>
            ))}
            <Rows
              market={market}
              levels={asks.slice().reverse()}
              side="ask"
              max={max}
              onPick={pick}
            />
          </tbody>
        </table>
        <div className="spread" aria-label="Last price and spread">
          <span className={`last ${last ? (last.isBuyerMaker ? "sell" : "buy") : ""}`}>
            {last ? groupThousands(last.price) : "–"}
          </span>
          <span className="muted">{spread ? `Spread ${spread}` : "No spread"}</span>
        </div>
        <table className="book-table">
          <caption className="sr-only">Bids, highest first</caption>
          <tbody className="bids">
            <Rows market={market} levels={bids} side="bid" max={max} onPick={pick} />
          </tbody>
        </table>
      </div>
    </Panel>
  );
}
