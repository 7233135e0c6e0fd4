import type { ReactNode } from "react";
import type { Market } from "../lib/market";
import type { Exchange } from "../state/exchange";
import { useExchange } from "./hooks";

/** A column of a table's head: numbers align right; `wide` ones hide on a phone. */
export interface Column {
  readonly label: ReactNode;
  readonly num?: boolean;
  readonly wide?: boolean;
}

export function TableHead(props: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column, index) => {
          const classes = [column.num ? "num" : "", column.wide ? "wide-only" : ""]
            .filter(Boolean)
            .join(" ");
          return (
            <th key={index} scope="col" className={classes || undefined}>
              {column.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

/** A price and an amount in the market's assets, then `last`: the book's and the tape's. */
export function priceAmountColumns(market: Market, last: Column): Column[] {
  return [
    { label: `Price (${market.quote})` },
    { label: `Amount (${market.base})`, num: true },
    last,
  ];
}

/** A market's symbol as a trader reads it: "SOL/USDC" (the symbol itself if not listed). */
export function pairName(exchange: Exchange, symbol: string): string {
  const market = exchange.marketOf(symbol);
  return market ? `${market.base}/${market.quote}` : symbol;
}

/** A link to a market's page that switches market in place (a modified click opens a tab). */
export function MarketLink(props: { symbol: string; current?: boolean; children: ReactNode }) {
  const exchange = useExchange();
  return (
    <a
      href={`/trade/${props.symbol}`}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        exchange.navigate(props.symbol);
      }}
    >
      {props.children}
    </a>
  );
}

export function sideClass(side: string): "buy" | "sell" {
  return side === "BUY" ? "buy" : "sell";
}

export function sideText(side: string): string {
  return side === "BUY" ? "Buy" : "Sell";
}
