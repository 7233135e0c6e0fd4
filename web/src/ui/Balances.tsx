import { useState } from "react";
import {
  type Dec,
  formatUnits,
  groupThousands,
  parseDecimal,
  pow10,
  trimZeros,
} from "../lib/decimal";
import { ApiError } from "../net/api";
import type { Exchange } from "../state/exchange";
import { useExchange, useMaybeStore, useStore } from "./hooks";
import { Panel } from "./Panel";
import { type Column, TableHead } from "./Table";

// What the faucet gives: this much quote asset, and of each base asset about as much in value.
const FAUCET_VALUE = 10_000n; // whole quote units
const BALANCE_COLUMNS: readonly Column[] = [
  { label: "Asset" },
  { label: "Free", num: true },
  { label: "Locked", num: true },
];
const FAUCET_FALLBACK = "10"; // whole units of a base asset that has no price yet

/** The faucet's gift per asset: quote assets FAUCET_VALUE, base assets its worth at the last
 *  price (whole units rounded down to the asset's decimals, at least one unit). */
export function faucetGifts(exchange: Exchange): Map<string, string> {
  const gifts = new Map<string, string>();
  const markets = exchange.markets.get() ?? [];
  const tickers = exchange.tickers.get();
  for (const market of markets) gifts.set(market.quote, FAUCET_VALUE.toString());
  for (const market of markets) {
    if (gifts.has(market.base)) continue;
    const last: Dec | null = parseDecimal(tickers.get(market.symbol)?.lastPrice ?? "");
    if (last === null || last.units === 0n) {
      gifts.set(market.base, FAUCET_FALLBACK);
      continue;
    }
    // FAUCET_VALUE / last, in units of 10^-baseDecimals
    const units = (FAUCET_VALUE * pow10(market.baseDecimals + last.scale)) / last.units;
    gifts.set(market.base, trimZeros(formatUnits(units > 0n ? units : 1n, market.baseDecimals)));
  }
  return gifts;
}

export function Balances(props: { active: boolean }) {
  const exchange = useExchange();
  const account = useStore(exchange.account);
  const balances = useMaybeStore(account?.balances);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const fund = async () => {
    if (account === null) return;
    setBusy(true);
    setMessage(null);
    try {
      for (const [asset, amount] of faucetGifts(exchange)) {
        await exchange.api.post("/faucet", { asset, amount });
      }
      await account.loadBalances();
      setMessage("Test funds added");
    } catch (error) {
      setMessage(`Faucet refused: ${error instanceof ApiError ? error.message : String(error)}`);
    } finally {
      setBusy(false);
    }
  };

  const rows =
    balances === null ? [] : [...balances.values()].sort((a, b) => a.asset.localeCompare(b.asset));
  return (
    <Panel
      title="Balances"
      area="balances"
      active={props.active}
      className="balances-panel"
      actions={
        exchange.config.faucet && account !== null ? (
          <button
            type="button"
            className="secondary small"
            disabled={busy}
            onClick={() => void fund()}
          >
            Get test funds
          </button>
        ) : undefined
      }
    >
      <p className="status-text" role="status">
        {message}
      </p>
      {account === null ? (
        <p className="empty">Sign in to see your balances.</p>
      ) : balances === null ? (
        <p className="empty">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="empty">
          No funds yet.
          {exchange.config.faucet ? " This is a test exchange: get test funds above." : ""}
        </p>
      ) : (
        <table className="balances">
          <TableHead columns={BALANCE_COLUMNS} />
          <tbody>
            {rows.map((balance) => (
              <tr key={balance.asset} data-asset={balance.asset}>
                <th scope="row">{balance.asset}</th>
                <td className="num" data-free={balance.free}>
                  {groupThousands(balance.free)}
                </td>
                <td className="num muted" data-locked={balance.locked}>
                  {groupThousands(balance.locked)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
