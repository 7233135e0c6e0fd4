import { useEffect, useState } from "react";
import { AccountPanel } from "./AccountPanel";
import { AuthDialog } from "./AuthDialog";
import { Balances } from "./Balances";
import { ChartPanel } from "./Charts";
import { Header } from "./Header";
import { useExchange, useStore } from "./hooks";
import { MarketsList } from "./MarketsList";
import { OrderBook } from "./OrderBook";
import { OrderForm } from "./OrderForm";
import { TradesTape } from "./TradesTape";

/** On a phone one section shows at a time, chosen by the tab bar at the bottom. */
const SECTIONS = ["Chart", "Book", "Trades", "Order", "Account"] as const;
type Section = (typeof SECTIONS)[number];

export function App() {
  const exchange = useExchange();
  const data = useStore(exchange.current);
  const symbol = useStore(exchange.symbol);
  const markets = useStore(exchange.markets);
  const [section, setSection] = useState<Section>("Chart");

  useEffect(() => {
    const market = data?.market;
    const update = () => {
      const ticker = market ? exchange.tickers.get().get(market.symbol) : undefined;
      const pair = market ? `${market.base}/${market.quote}` : "";
      document.title = ticker?.lastPrice
        ? `${ticker.lastPrice} ${pair} · Cryptex`
        : `${pair} · Cryptex`;
    };
    update();
    return exchange.tickers.subscribe(update);
  }, [exchange, data]);

  // A price picked on the book goes to the form: on a phone, show the form.
  const picked = useStore(exchange.pickedPrice);
  useEffect(() => {
    if (picked !== null) setSection((current) => (current === "Book" ? "Order" : current));
  }, [picked]);

  return (
    <div className="app">
      <a className="skip" href="#order-form">
        Skip to the order form
      </a>
      <Header />
      <main className="layout" data-section={section}>
        {data === null || symbol === null ? (
          <p className="empty page-note">
            {markets === null ? "Loading markets…" : "No markets listed yet."}
          </p>
        ) : (
          <>
            <ChartPanel key={`chart-${symbol}`} data={data} active={section === "Chart"} />
            <OrderBook key={`book-${symbol}`} data={data} active={section === "Book"} />
            <OrderForm key={`form-${symbol}`} data={data} active={section === "Order"} />
            <div className="side">
              <MarketsList active={section === "Chart"} />
              <TradesTape key={`trades-${symbol}`} data={data} active={section === "Trades"} />
            </div>
            <AccountPanel symbol={symbol} active={section === "Account"} />
            <Balances active={section === "Order" || section === "Account"} />
          </>
        )}
      </main>
      <nav className="sections" aria-label="Sections">
        <div role="tablist" aria-label="Sections">
          {SECTIONS.map((name) => (
            <button
              key={name}
              type="button"
              role="tab"
              aria-selected={section === name}
              className="section-tab"
              onClick={() => setSection(name)}
            >
              {name}
            </button>
          ))}
        </div>
      </nav>
      <footer className="footer">
        Charts by{" "}
        <a href="https://www.tradingview.com/" rel="noopener noreferrer" target="_blank">
          TradingView
        </a>
        's Lightweight Charts. Cryptex: amounts are exact; prices and sizes follow each market's
        tick and lot.
      </footer>
      <AuthDialog />
    </div>
  );
}
