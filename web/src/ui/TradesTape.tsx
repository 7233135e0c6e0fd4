import { groupThousands } from "../lib/decimal";
import { clockTime } from "../lib/format";
import type { MarketData } from "../state/marketData";
import { useSignal } from "./hooks";
import { Panel } from "./Panel";
import { priceAmountColumns, TableHead } from "./Table";

/** The market's latest trades, newest first, coloured by the taker's side. */
export function TradesTape(props: { data: MarketData; active: boolean }) {
  const { data } = props;
  useSignal(data.tradesSignal);
  const { market } = data;
  return (
    <Panel title="Trades" area="trades" active={props.active} className="trades-panel">
      {data.trades.length === 0 ? (
        <p className="empty">No trades yet.</p>
      ) : (
        <table className="tape">
          <TableHead columns={priceAmountColumns(market, { label: "Time", num: true })} />
          <tbody>
            {data.trades.map((trade) => {
              const side = trade.isBuyerMaker ? "sell" : "buy";
              return (
                <tr key={trade.id} data-trade-id={trade.id} data-side={side}>
                  <td className={`price ${side}`}>
                    {groupThousands(trade.price)}
                    <span className="sr-only">{side === "buy" ? " bought" : " sold"}</span>
                  </td>
                  <td className="num">{groupThousands(trade.qty)}</td>
                  <td className="num muted">{clockTime(trade.time)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
