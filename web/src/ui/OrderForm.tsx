import { type FormEvent, useEffect, useId, useMemo, useState } from "react";
import type { Level } from "../lib/book";
import { groupThousands, trimZeros } from "../lib/decimal";
import {
  assetUnits,
  averagePrice,
  formatBase,
  formatPrice,
  formatQuantity,
  formatQuote,
} from "../lib/market";
import {
  checkOrder,
  feeRates,
  describeReason,
  type FormContext,
  type OrderKind,
  type OrderSide,
  quantityForPercent,
  type TimeInForce,
} from "../lib/orderForm";
import { ApiError } from "../net/api";
import type { OrderOut } from "../net/types";
import type { MarketData } from "../state/marketData";
import { useExchange, useMaybeStore, useSignal, useStore } from "./hooks";
import { Panel } from "./Panel";

const DEPTH_FOR_ESTIMATES = 100;
const PERCENTS = [25, 50, 75, 100];
const TIF_HELP: Record<TimeInForce, string> = {
  GTC: "Good till cancelled: what does not fill at once rests on the book",
  IOC: "Immediate or cancel: what does not fill at once is cancelled",
  FOK: "Fill or kill: fills entirely at once, or not at all",
};

interface Outcome {
  readonly tone: "ok" | "error";
  readonly text: string;
}

function clientOrderId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function describeOrder(data: MarketData, order: OrderOut): Outcome {
  const { market } = data;
  const side = order.side === "BUY" ? "Buy" : "Sell";
  const executed = trimZeros(order.executedQty);
  const average =
    executed !== "0" ? averagePrice(market, order.cumulativeQuoteQty, order.executedQty) : null;
  const filled =
    average !== null ? `${executed} ${market.base} filled at ${average} on average` : "";
  switch (order.status) {
    case "FILLED":
      return { tone: "ok", text: `${side} order ${order.orderId} filled: ${filled}` };
    case "PARTIALLY_FILLED":
      return {
        tone: "ok",
        text: `${side} order ${order.orderId} partly filled (${filled}); the rest rests at ${order.price}`,
      };
    case "NEW":
      return {
        tone: "ok",
        text: `${side} order ${order.orderId} placed: ${trimZeros(order.quantity)} ${market.base} at ${order.price}`,
      };
    case "REJECTED":
      return {
        tone: "error",
        text: `Order ${order.orderId} rejected: ${describeReason(order.reason)}`,
      };
    case "EXPIRED":
      return {
        tone: filled ? "ok" : "error",
        text: `Order ${order.orderId} expired${filled ? ` after ${filled}` : " with nothing filled"}: ${describeReason(order.reason)}`,
      };
    default:
      return { tone: "ok", text: `Order ${order.orderId}: ${order.status}` };
  }
}

/** The book's levels for the form's estimates: none while it is not live. */
function levels(data: MarketData, side: "bid" | "ask"): Level[] {
  if (data.book.state !== "live") return [];
  return data.book.top(side, DEPTH_FOR_ESTIMATES).map((level) => [level.price, level.quantity]);
}

export function OrderForm(props: { data: MarketData; active: boolean }) {
  const { data } = props;
  const { market } = data;
  const exchange = useExchange();
  const account = useStore(exchange.account);
  const balances = useMaybeStore(account?.balances);
  useSignal(data.bookSignal);
  const picked = useStore(exchange.pickedPrice);
  const [side, setSide] = useState<OrderSide>("buy");
  const [kind, setKind] = useState<OrderKind>("limit");
  const [timeInForce, setTimeInForce] = useState<TimeInForce>("GTC");
  const [postOnly, setPostOnly] = useState(false);
  const [price, setPrice] = useState("");
  const [quantity, setQuantity] = useState("");
  const [touched, setTouched] = useState({ price: false, quantity: false, submit: false });
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const ids = { price: useId(), quantity: useId(), tif: useId(), kind: useId(), hint: useId() };

  useEffect(() => {
    if (picked === null) return;
    setKind("limit");
    setPrice(picked.price);
    setTouched((t) => ({ ...t, price: true }));
  }, [picked]);

  const freeBase =
    balances === null
      ? null
      : (assetUnits(balances.get(market.base)?.free, market.baseDecimals) ?? 0n);
  const freeQuote =
    balances === null
      ? null
      : (assetUnits(balances.get(market.quote)?.free, market.quoteDecimals) ?? 0n);
  const signedIn = account !== null;

  const context: FormContext = {
    market,
    freeBase: signedIn ? freeBase : null,
    freeQuote: signedIn ? freeQuote : null,
    bids: levels(data, "bid"),
    asks: levels(data, "ask"),
    bandBps: exchange.config.marketOrderBandBps,
  };
  const input = { side, kind, timeInForce, postOnly, price, quantity };
  const check = checkOrder(input, context);
  const showPrice = touched.price || touched.submit;
  const showQuantity = touched.quantity || touched.submit;
  const priceError = kind === "limit" && showPrice ? check.errors.price : undefined;
  const quantityError = showQuantity ? check.errors.quantity : undefined;
  const orderError =
    touched.submit || (touched.quantity && (kind === "market" || touched.price))
      ? check.errors.order
      : undefined;
  const open = market.tradingState === "Active";

  const setShare = (percent: number) => {
    const lots = quantityForPercent(percent, side, kind, price, context);
    if (lots === null) return;
    setQuantity(formatQuantity(market, lots));
    setTouched((t) => ({ ...t, quantity: true }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    if (account === null) {
      exchange.session.dialog.set("signin");
      return;
    }
    setTouched({ price: true, quantity: true, submit: true });
    if (check.request === null || !open) return;
    setBusy(true);
    setOutcome(null);
    try {
      const order = await account.place({ ...check.request, clientOrderId: clientOrderId() });
      setOutcome(describeOrder(data, order));
      setTouched({ price: false, quantity: false, submit: false });
    } catch (error) {
      const text = error instanceof ApiError ? error.message : String(error);
      setOutcome({ tone: "error", text: `Order refused: ${text}` });
      account.refresh(); // the refusal may come from balances this page had not seen change
    } finally {
      setBusy(false);
    }
  };

  const freeText = useMemo(() => {
    if (!signedIn) return "Sign in to trade";
    if (side === "buy")
      return freeQuote === null
        ? "…"
        : `${groupThousands(formatQuote(market, freeQuote))} ${market.quote}`;
    return freeBase === null
      ? "…"
      : `${groupThousands(formatBase(market, freeBase))} ${market.base}`;
  }, [signedIn, side, freeQuote, freeBase, market]);

  const feeLabel = feeRates(market, check.liquidity);
  return (
    <Panel
      title="Place order"
      area="form"
      id="order-form"
      active={props.active}
      className="form-panel"
    >
      <form className="order-form" onSubmit={submit} noValidate aria-describedby={ids.hint}>
        <fieldset className="segmented sides">
          <legend className="sr-only">Side</legend>
          {(["buy", "sell"] as const).map((value) => (
            <label key={value} className={`segment ${value} ${side === value ? "checked" : ""}`}>
              <input
                type="radio"
                name="side"
                value={value}
                checked={side === value}
                onChange={() => setSide(value)}
              />
              {value === "buy" ? "Buy" : "Sell"}
            </label>
          ))}
        </fieldset>
        <div className="form-grid">
          <div className="field">
            <label htmlFor={ids.kind}>Order type</label>
            <select
              id={ids.kind}
              value={kind}
              onChange={(event) => setKind(event.target.value as OrderKind)}
            >
              <option value="limit">Limit</option>
              <option value="market">Market</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.tif}>Time in force</label>
            <select
              id={ids.tif}
              value={kind === "market" ? "IOC" : timeInForce}
              disabled={kind === "market"}
              title={TIF_HELP[kind === "market" ? "IOC" : timeInForce]}
              onChange={(event) => {
                const value = event.target.value as TimeInForce;
                setTimeInForce(value);
                if (value !== "GTC") setPostOnly(false);
              }}
            >
              <option value="GTC">GTC</option>
              <option value="IOC">IOC</option>
              <option value="FOK">FOK</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.price}>Price</label>
            <div className="affix">
              <input
                id={ids.price}
                name="price"
                inputMode="decimal"
                autoComplete="off"
                spellCheck={false}
                placeholder={
                  kind === "market" ? "Market price" : `step ${trimZeros(formatPrice(market, 1n))}`
                }
                disabled={kind === "market"}
                value={kind === "market" ? "" : price}
                aria-invalid={priceError !== undefined}
                aria-describedby={priceError !== undefined ? `${ids.price}-error` : undefined}
                onChange={(event) => setPrice(event.target.value)}
                onBlur={() => setTouched((t) => ({ ...t, price: true }))}
              />
              <span className="unit" aria-hidden="true">
                {market.quote}
              </span>
            </div>
            {priceError !== undefined && (
              <p className="field-error" id={`${ids.price}-error`}>
                {priceError}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor={ids.quantity}>Quantity</label>
            <div className="affix">
              <input
                id={ids.quantity}
                name="quantity"
                inputMode="decimal"
                autoComplete="off"
                spellCheck={false}
                placeholder={`min ${trimZeros(formatQuantity(market, market.minQty))}`}
                value={quantity}
                aria-invalid={quantityError !== undefined}
                aria-describedby={quantityError !== undefined ? `${ids.quantity}-error` : undefined}
                onChange={(event) => setQuantity(event.target.value)}
                onBlur={() => setTouched((t) => ({ ...t, quantity: true }))}
              />
              <span className="unit" aria-hidden="true">
                {market.base}
              </span>
            </div>
            {quantityError !== undefined && (
              <p className="field-error" id={`${ids.quantity}-error`}>
                {quantityError}
              </p>
            )}
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={kind === "limit" && postOnly}
              disabled={kind === "market" || timeInForce !== "GTC"}
              onChange={(event) => setPostOnly(event.target.checked)}
            />
            Post only (rest on the book, never take)
          </label>
          <div className="shares" role="group" aria-label="Quantity as a share of the free balance">
            {PERCENTS.map((percent) => (
              <button
                key={percent}
                type="button"
                className="chip"
                disabled={!signedIn}
                onClick={() => setShare(percent)}
              >
                {percent}%
              </button>
            ))}
          </div>
        </div>
        <dl className="summary" id={ids.hint}>
          <div>
            <dt>Available</dt>
            <dd>{freeText}</dd>
          </div>
          <div>
            <dt>{kind === "market" ? "Total (estimated)" : "Total"}</dt>
            <dd>
              {check.total === null
                ? "–"
                : `${groupThousands(formatQuote(market, check.total))} ${market.quote}`}
            </dd>
          </div>
          <div>
            <dt>Fee ({feeLabel})</dt>
            <dd>
              {check.fee === null
                ? "–"
                : `≈ ${groupThousands(formatQuote(market, check.fee))} ${market.quote}`}
            </dd>
          </div>
        </dl>
        {!open && (
          <p className="field-error" role="alert">
            {market.symbol} is {market.tradingState}: it takes no new orders now.
          </p>
        )}
        {orderError !== undefined && <p className="field-error">{orderError}</p>}
        <button
          type="submit"
          className={`submit ${side}`}
          disabled={busy || !open}
          aria-busy={busy}
        >
          {side === "buy" ? "Buy" : "Sell"}
        </button>
        <div className="outcome" role="status" aria-live="polite">
          {outcome !== null && (
            <p className={outcome.tone === "error" ? "outcome-error" : "outcome-ok"}>
              {outcome.text}
            </p>
          )}
        </div>
      </form>
    </Panel>
  );
}
