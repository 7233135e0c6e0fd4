import { useEffect, useState } from "react";
import { groupThousands } from "../lib/decimal";
import { changePercent } from "../lib/format";
import type { Market } from "../lib/market";
import { useExchange, useStore } from "./hooks";
import { NoticeList } from "./Notices";

function Connection() {
  const exchange = useExchange();
  const { state, retryAt } = useStore(exchange.connection);
  const [, tick] = useState(0);
  useEffect(() => {
    if (state !== "reconnecting") return;
    const timer = window.setInterval(() => tick((n) => n + 1), 500);
    return () => window.clearInterval(timer);
  }, [state]);
  let text = "Live";
  if (state === "connecting") text = "Connecting…";
  if (state === "reconnecting") {
    const seconds = retryAt === null ? 0 : Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    text = seconds > 0 ? `Reconnecting in ${seconds}s…` : "Reconnecting…";
  }
  return (
    <span
      className={`connection ${state}`}
      role="status"
      aria-label={`Connection: ${text}`}
      data-state={state}
    >
      <span className="dot" aria-hidden="true" />
      <span className="text">{text}</span>
    </span>
  );
}

function Stats(props: { market: Market }) {
  const exchange = useExchange();
  const tickers = useStore(exchange.tickers);
  const ticker = tickers.get(props.market.symbol);
  const change = changePercent(ticker?.openPrice ?? null, ticker?.lastPrice ?? null);
  const direction =
    change === null ? "" : change.direction > 0 ? "buy" : change.direction < 0 ? "sell" : "";
  const items: [string, string, string?][] = [
    ["24h change", change?.text ?? "–", direction],
    ["24h high", ticker?.highPrice ? groupThousands(ticker.highPrice) : "–"],
    ["24h low", ticker?.lowPrice ? groupThousands(ticker.lowPrice) : "–"],
    [`24h volume (${props.market.base})`, ticker ? groupThousands(ticker.volume) : "–"],
    [`24h volume (${props.market.quote})`, ticker ? groupThousands(ticker.quoteVolume) : "–"],
  ];
  return (
    <dl
      className="stats"
      aria-label={`${props.market.base}/${props.market.quote} 24-hour statistics`}
    >
      <div className="stat last">
        <dt>Last price</dt>
        <dd className={direction}>{ticker?.lastPrice ? groupThousands(ticker.lastPrice) : "–"}</dd>
      </div>
      {items.map(([label, value, tone]) => (
        <div className="stat" key={label}>
          <dt>{label}</dt>
          <dd className={tone ?? ""}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Header() {
  const exchange = useExchange();
  const markets = useStore(exchange.markets);
  const symbol = useStore(exchange.symbol);
  const info = useStore(exchange.session.info);
  const market = symbol === null ? undefined : exchange.marketOf(symbol);
  return (
    <header className="topbar">
      <a className="brand" href="/" aria-label="Cryptex home">
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <path d="M12 2 21 7v10l-9 5-9-5V7z" fill="none" stroke="currentColor" strokeWidth="2" />
          <path d="M12 7v10M8 9.5v5M16 9.5v5" stroke="currentColor" strokeWidth="2" />
        </svg>
        <span>Cryptex</span>
      </a>
      <label className="market-select">
        <span className="sr-only">Market</span>
        <select
          value={symbol ?? ""}
          onChange={(event) => exchange.navigate(event.target.value)}
          disabled={markets === null}
        >
          {(markets ?? []).map((m) => (
            <option key={m.symbol} value={m.symbol}>
              {m.base}/{m.quote}
            </option>
          ))}
        </select>
      </label>
      {/* Notices show over the statistics, which hold no control: they hide nothing to press. */}
      <div className="ticker-slot">
        {market !== undefined && <Stats market={market} />}
        <NoticeList />
      </div>
      <Connection />
      <div className="account">
        {info === null ? (
          <>
            <button
              type="button"
              className="secondary"
              onClick={() => exchange.session.dialog.set("signin")}
            >
              Sign in
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => exchange.session.dialog.set("signup")}
            >
              Sign up
            </button>
          </>
        ) : (
          <>
            <span className="who" title={`Account ${info.accountId}`}>
              {info.email}
            </span>
            <button type="button" className="secondary" onClick={() => exchange.session.signOut()}>
              Sign out
            </button>
          </>
        )}
      </div>
    </header>
  );
}
