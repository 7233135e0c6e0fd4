/**
 * The candle chart (with a volume pane) and the depth chart, both drawn by TradingView's
 * lightweight-charts (its attribution logo stays on). Chart coordinates are numbers, used for
 * drawing only; every figure shown in text (the legend) comes from the exact strings.
 */

import {
  AreaSeries,
  type AutoscaleInfo,
  CandlestickSeries,
  ColorType,
  createChart,
  createOptionsChart,
  CrosshairMode,
  HistogramSeries,
  type IChartApi,
  type IChartApiBase,
  type ISeriesApi,
  LineType,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useId, useRef, useState } from "react";
import { compareDecimal, groupThousands } from "../lib/decimal";
import { type Candle, INTERVALS, type Interval } from "../lib/candles";
import { formatPrice, formatQuantity, type Market, tickNumber } from "../lib/market";
import type { MarketData } from "../state/marketData";
import { useSignal, useStore } from "./hooks";
import { Panel } from "./Panel";

const THEME = {
  background: "#0f141c",
  text: "#8b95a7",
  grid: "#1a2130",
  border: "#263044",
  buy: "#1fc07f",
  sell: "#f0475b",
  buyFill: "rgba(31, 192, 127, 0.18)",
  sellFill: "rgba(240, 71, 91, 0.18)",
  buyVolume: "rgba(31, 192, 127, 0.45)",
  sellVolume: "rgba(240, 71, 91, 0.45)",
};
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const DEPTH_LEVELS = 100;

/** Epoch ms as the chart's seconds, shifted so that its axis reads in local time. */
function chartTime(ms: number): UTCTimestamp {
  const offset = new Date(ms).getTimezoneOffset() * 60_000;
  return Math.floor((ms - offset) / 1000) as UTCTimestamp;
}

function baseOptions() {
  return {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: THEME.background },
      textColor: THEME.text,
      fontFamily: FONT,
      fontSize: 11,
      attributionLogo: true,
      panes: { separatorColor: THEME.border, separatorHoverColor: THEME.grid },
    },
    grid: { vertLines: { color: THEME.grid }, horzLines: { color: THEME.grid } },
    rightPriceScale: { borderColor: THEME.border },
    crosshair: { mode: CrosshairMode.Normal },
  };
}

function Legend(props: { market: Market; candle: Candle | undefined }) {
  const { candle } = props;
  if (candle === undefined) return <div className="legend muted">No trades in this period yet</div>;
  const up = compareDecimal(candle.close, candle.open) >= 0;
  const parts: [string, string][] = [
    ["O", candle.open],
    ["H", candle.high],
    ["L", candle.low],
    ["C", candle.close],
  ];
  return (
    <div className="legend" aria-live="off">
      {parts.map(([label, value]) => (
        <span key={label}>
          <span className="muted">{label}</span>{" "}
          <span className={up ? "buy" : "sell"}>{groupThousands(value)}</span>
        </span>
      ))}
      <span>
        <span className="muted">V</span> {groupThousands(candle.volume)} {props.market.base}
      </span>
    </div>
  );
}

function CandleChart(props: { data: MarketData }) {
  const { data } = props;
  const { market } = data;
  const box = useRef<HTMLDivElement>(null);
  const [hovered, setHovered] = useState<Candle | undefined>(undefined);
  const [last, setLast] = useState<Candle | undefined>(undefined);
  const loading = useStore(data.candlesLoading);
  const interval = useStore(data.interval);

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const chart: IChartApi = createChart(element, {
      ...baseOptions(),
      timeScale: {
        borderColor: THEME.border,
        timeVisible: interval !== "1d",
        secondsVisible: false,
        rightOffset: 4,
        barSpacing: 9,
      },
    });
    const minMove = tickNumber(market);
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: THEME.buy,
      downColor: THEME.sell,
      borderVisible: false,
      wickUpColor: THEME.buy,
      wickDownColor: THEME.sell,
      priceFormat: { type: "price", precision: market.tick.scale, minMove },
    });
    const volume = chart.addSeries(
      HistogramSeries,
      {
        priceFormat: { type: "volume" },
        priceLineVisible: false,
        lastValueVisible: false,
      },
      1,
    );
    chart.panes()[1]?.setStretchFactor(0.25);
    chart.panes()[0]?.setStretchFactor(0.75);

    const byTime = new Map<number, Candle>();
    let lastTime = -Infinity;
    const bar = (c: Candle) => ({
      time: chartTime(c.openTime),
      open: Number(c.open),
      high: Number(c.high),
      low: Number(c.low),
      close: Number(c.close),
    });
    const volumeBar = (c: Candle) => ({
      time: chartTime(c.openTime),
      value: Number(c.volume),
      color: compareDecimal(c.close, c.open) >= 0 ? THEME.buyVolume : THEME.sellVolume,
    });
    const reset = () => {
      byTime.clear();
      for (const c of data.candles) byTime.set(chartTime(c.openTime), c);
      candles.setData(data.candles.map(bar));
      volume.setData(data.candles.map(volumeBar));
      lastTime = data.candles.length ? data.candles[data.candles.length - 1]!.openTime : -Infinity;
      setLast(data.candles[data.candles.length - 1]);
    };
    reset();
    const stop = data.onCandles((event) => {
      if (event.reset || event.candle.openTime < lastTime) {
        reset(); // the chart only updates its last bar or adds one after it
        return;
      }
      candles.update(bar(event.candle));
      volume.update(volumeBar(event.candle));
      byTime.set(chartTime(event.candle.openTime), event.candle);
      lastTime = event.candle.openTime;
      setLast(event.candle);
    });
    const onMove = (param: { time?: unknown }) => {
      setHovered(typeof param.time === "number" ? byTime.get(param.time) : undefined);
    };
    chart.subscribeCrosshairMove(onMove);
    return () => {
      stop();
      chart.unsubscribeCrosshairMove(onMove);
      chart.remove();
    };
  }, [data, market, interval]);

  return (
    <div className="chart-wrap">
      <Legend market={market} candle={hovered ?? last} />
      <div
        className="chart"
        ref={box}
        role="figure"
        aria-label={`${market.base}/${market.quote} candles, ${interval} interval, with volume`}
      />
      {loading && <p className="chart-note">Loading candles…</p>}
    </div>
  );
}

function DepthChart(props: { data: MarketData }) {
  const { data } = props;
  const { market } = data;
  const box = useRef<HTMLDivElement>(null);
  const series = useRef<{
    chart: IChartApiBase<number>;
    bids: ISeriesApi<"Area", number>;
    asks: ISeriesApi<"Area", number>;
  } | null>(null);
  const version = useSignal(data.bookSignal);

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const options = baseOptions();
    const chart = createOptionsChart(element, {
      ...options,
      // The horizontal scale is the price: shown with the tick's decimals.
      localization: { precision: market.tick.scale },
      timeScale: { borderColor: THEME.border },
      rightPriceScale: { ...options.rightPriceScale, scaleMargins: { top: 0.1, bottom: 0 } },
    });
    const common = {
      lineType: LineType.WithSteps,
      lineWidth: 2 as const,
      priceLineVisible: false,
      lastValueVisible: false,
      priceFormat: {
        type: "price" as const,
        precision: market.lot.scale,
        minMove: Number(formatQuantity(market, 1n)),
      },
      // Depth is measured from zero.
      autoscaleInfoProvider: (original: () => AutoscaleInfo | null) => {
        const info = original();
        if (info?.priceRange) info.priceRange.minValue = 0;
        return info;
      },
    };
    series.current = {
      chart,
      bids: chart.addSeries(AreaSeries, {
        ...common,
        lineColor: THEME.buy,
        topColor: THEME.buyFill,
        bottomColor: THEME.buyFill,
      }),
      asks: chart.addSeries(AreaSeries, {
        ...common,
        lineColor: THEME.sell,
        topColor: THEME.sellFill,
        bottomColor: THEME.sellFill,
      }),
    };
    return () => {
      series.current = null;
      chart.remove();
    };
  }, [market]);

  useEffect(() => {
    const current = series.current;
    if (current === null) return;
    const point = (price: bigint, lots: bigint) => ({
      time: Number(formatPrice(market, price)),
      value: Number(formatQuantity(market, lots)),
    });
    // Best first from the book; the chart wants prices ascending.
    const bids = data.book
      .top("bid", DEPTH_LEVELS)
      .map((l) => point(l.price, l.cumulative))
      .reverse();
    const asks = data.book.top("ask", DEPTH_LEVELS).map((l) => point(l.price, l.cumulative));
    current.bids.setData(bids);
    current.asks.setData(asks);
    current.chart.timeScale().fitContent();
  }, [data, market, version]);

  return (
    <div className="chart-wrap">
      <div className="legend muted">
        Cumulative {market.base} bid (green) and asked (red) by price in {market.quote}
      </div>
      <div
        className="chart"
        ref={box}
        role="figure"
        aria-label={`${market.base}/${market.quote} depth chart: cumulative bids and asks`}
      />
    </div>
  );
}

/** Candles or depth, with the candle interval picker. */
export function ChartPanel(props: { data: MarketData; active: boolean }) {
  const { data } = props;
  const [view, setView] = useState<"candles" | "depth">("candles");
  const interval = useStore(data.interval);
  const group = useId();
  return (
    <Panel
      title="Chart"
      hiddenTitle
      area="chart"
      active={props.active}
      className="chart-panel"
      actions={
        <div className="chart-controls">
          <div role="radiogroup" aria-label="Chart" className="segmented small">
            {(["candles", "depth"] as const).map((value) => (
              <button
                key={value}
                type="button"
                role="radio"
                aria-checked={view === value}
                className={`segment ${view === value ? "checked" : ""}`}
                onClick={() => setView(value)}
              >
                {value === "candles" ? "Candles" : "Depth"}
              </button>
            ))}
          </div>
          {view === "candles" && (
            <div
              role="radiogroup"
              aria-label="Candle interval"
              className="segmented small"
              id={group}
            >
              {INTERVALS.map((value: Interval) => (
                <button
                  key={value}
                  type="button"
                  role="radio"
                  aria-checked={interval === value}
                  className={`segment ${interval === value ? "checked" : ""}`}
                  onClick={() => data.setInterval(value)}
                >
                  {value}
                </button>
              ))}
            </div>
          )}
        </div>
      }
    >
      {view === "candles" ? <CandleChart data={data} /> : <DepthChart data={data} />}
    </Panel>
  );
}
