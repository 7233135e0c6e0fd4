import { groupThousands, truncateDecimals } from "../lib/decimal";
import { changePercent } from "../lib/format";
import { useExchange, useStore } from "./hooks";
import { Panel } from "./Panel";
import { type Column, MarketLink, TableHead } from "./Table";

const COLUMNS: readonly Column[] = [
  { label: "Market" },
  { label: "Last", num: true },
  { label: "24h", num: true },
  { label: "Volume (24h)", num: true },
];

/** Every listed market with its 24-hour last price, change and volume, live from ticker@M. */
export function MarketsList(props: { active: boolean }) {
  const exchange = useExchange();
  const markets = useStore(exchange.markets);
  const tickers = useStore(exchange.tickers);
  const symbol = useStore(exchange.symbol);
  const error = useStore(exchange.marketsError);
  return (
    <Panel title="Markets" area="markets" active={props.active} className="markets-panel">
      {markets === null ? (
        <p className="empty">
          {error === null ? "Loading markets…" : `Markets unavailable (${error}); retrying…`}
        </p>
      ) : (
        <table className="markets">
          <TableHead columns={COLUMNS} />
          <tbody>
            {markets.map((market) => {
              const ticker = tickers.get(market.symbol);
              const change = changePercent(ticker?.openPrice ?? null, ticker?.lastPrice ?? null);
              const tone =
                change === null || change.direction === 0
                  ? ""
                  : change.direction > 0
                    ? "buy"
                    : "sell";
              const current = market.symbol === symbol;
              return (
                <tr
                  key={market.symbol}
                  className={current ? "current" : undefined}
                  data-symbol={market.symbol}
                >
                  <th scope="row">
                    <MarketLink symbol={market.symbol} current={current}>
                      {market.base}
                      <span className="muted">/{market.quote}</span>
                    </MarketLink>
                    {market.tradingState !== "Active" && (
                      <span className="state-tag">{market.tradingState}</span>
                    )}
                  </th>
                  <td className="num">
                    {ticker?.lastPrice ? groupThousands(ticker.lastPrice) : "–"}
                  </td>
                  <td className={`num ${tone}`}>{change?.text ?? "–"}</td>
                  <td className="num muted" title={`${ticker?.volume ?? "0"} ${market.base}`}>
                    {ticker
                      ? `${groupThousands(truncateDecimals(ticker.quoteVolume, 0))} ${market.quote}`
                      : "–"}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
