"""The market maker: one loop per market over the public API, all sharing one account.

Each loop, every `interval_s` (and at once when one of its orders trades or is done):

1. reads its open orders, the balances and the market rules again over REST when they may be
   stale: every `resync_s`, after a failure, after the private streams reconnect;
2. moves the reference price: the feed, or one step of the seeded random walk per interval;
3. plans (`quoting.plan`, pure) and, unless the plan is idle, cancels, reads the balances again
   and places what they can fund. Markets execute one at a time: they share the quote asset, and
   the balances read just before placing are then the truth.

A failure is logged, counted and backed off, and the next try starts from fresh state. It never
reads Redis or the database: everything comes from the REST and WebSocket API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from prometheus_client import CollectorRegistry

from cryptex import metrics as metrics_server
from cryptex.markets import AssetSpec, MarketSpec
from cryptex.money import MoneyError, to_units
from cryptex.settings import ConfigError
from cryptex.wire import OrderStatus, Side, TradingState
from cryptex_mm import payloads, quoting, walk
from cryptex_mm.backoff import Backoff
from cryptex_mm.client import ApiError, RateLimitedError, RestClient, UnavailableError
from cryptex_mm.metrics import MmMetrics
from cryptex_mm.orders import OwnOrders
from cryptex_mm.payloads import Balance, PayloadError
from cryptex_mm.quoting import SUBTICKS, Funds, Plan, Position, Quote, QuoteParams, Resting
from cryptex_mm.settings import MmSettings
from cryptex_mm.stream import PrivateStream

log = logging.getLogger("cryptex.mm")

NOT_OPEN: Final = -2011  # cancel refused: the order is done already
NO_SUCH_ORDER: Final = -2013
_CANCELLED_OR_QUEUED: Final = frozenset({"CANCELED", "NEW", "PARTIALLY_FILLED"})
_REFUSALS: Final = {-2010: "insufficient_funds", -1013: "filter", -1014: "market_not_open"}
_MAX_WALK_STEPS: Final = 1_000  # steps caught up at once after a long pause
_NO_BALANCE: Final = Balance(0, 0)
_TASKS_STOP_S: Final = 3.0


@dataclass
class Market:
    symbol: str
    spec: MarketSpec
    rng: random.Random
    orders: OwnOrders = field(default_factory=OwnOrders)
    params: QuoteParams | None = None  # once a reference gives a size in lots
    reference: int | None = None  # sub-ticks
    anchor: int | None = None
    valued_at: int | None = None  # sub-ticks: the first anchor, the default target's price
    stale_at: float | None = 0.0  # monotonic; None: nothing missed since the last sync
    synced_at: float = float("-inf")
    stepped_at: float = 0.0
    progress_at: float = field(default_factory=time.monotonic)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # (side, ticks) the engine refused as post-only takers, and when: not tried again until
    # the anchor moves or `resync_s` has passed (the book may have moved away by then)
    refused: dict[tuple[Side, int], float] = field(default_factory=dict)
    waiting: bool = False  # for a first price (said once)


class MarketMaker:
    def __init__(
        self, settings: MmSettings, http: aiohttp.ClientSession, metrics: MmMetrics
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.rng = random.Random(f"{settings.seed}:backoff")  # jitter only
        self.rest = RestClient(http, settings, metrics, self.rng)
        self.markets: dict[str, Market] = {}
        self.assets: dict[str, AssetSpec] = {}
        self.balances: dict[str, Balance] = {}
        self.started = False
        self._account_synced_at = float("-inf")
        self._account_lock = asyncio.Lock()
        self._execution = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._run_id = uuid.uuid4().hex[:12]  # clientOrderIds must differ from any earlier run
        self._client_ids = itertools.count(1)

    # ------------------------------------------------------------------ life cycle

    async def run(self, stop: asyncio.Event) -> None:
        """Quote until `stop` is set (or this is cancelled), then cancel every quote if so
        configured."""
        try:
            if not await self._start(stop):
                return
            if self.settings.ws_url:
                stream = PrivateStream(
                    self.settings, self.rest, self.metrics, self.rng, on_order=self._on_order,
                    on_balances=self._on_balances, on_subscribed=self._on_subscribed,
                )  # fmt: skip
                self._tasks.append(asyncio.create_task(stream.run(), name="stream"))
            for market in self.markets.values():
                self._tasks.append(
                    asyncio.create_task(self._loop(market), name=f"quote-{market.symbol}")
                )
            await stop.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                # A task stuck in a close handshake must not keep the quotes up.
                _, stuck = await asyncio.wait(self._tasks, timeout=_TASKS_STOP_S)
                if stuck:
                    log.warning(
                        "tasks still stopping", extra={"tasks": [t.get_name() for t in stuck]}
                    )
            if self.settings.cancel_on_exit and self.rest.signed_in:
                await self.cancel_all()
            log.info("market maker stopped")

    def healthy(self) -> bool:
        """Started, and every loop alive and turning (a try may take all its retries)."""
        if not self.started or any(task.done() for task in self._tasks):
            return False
        s = self.settings
        stall = (s.max_retries + 2) * (s.request_timeout_s + s.backoff_cap_s) + 10 * s.interval_s
        now = time.monotonic()
        return all(now - market.progress_at < stall for market in self.markets.values())

    async def _start(self, stop: asyncio.Event) -> bool:
        """Sign in and read the markets, retrying until it works; False if stopped first."""
        backoff = Backoff(self.rng, self.settings.backoff_base_s, self.settings.backoff_cap_s)
        while not stop.is_set():
            try:
                await self.rest.token()
                specs = payloads.markets(await self.rest.call("GET", "/api/v1/markets"))
                missing = [s for s in self.settings.markets if s not in specs]
                if not missing:
                    break
                # The operator may list them after the bot starts (a cluster coming up).
                log.warning("waiting for markets to be listed", extra={"markets": missing})
            except (ApiError, UnavailableError, PayloadError) as error:
                log.warning("cannot start yet", extra={"error": str(error)})
            await nap(stop, backoff.next())
        else:
            return False
        self.assets = payloads.assets(specs)
        for symbol in self.settings.markets:
            self._check_amounts(specs[symbol])
            self.markets[symbol] = Market(
                symbol, specs[symbol], walk.rng_for(self.settings.seed, symbol)
            )
        self.started = True
        log.info("market maker started", extra={"markets": list(self.markets)})
        return True

    def _check_amounts(self, spec: MarketSpec) -> None:
        """Per-market amounts of the settings, against the market's rules: fail loudly."""
        s, symbol = self.settings, spec.symbol
        checks: list[tuple[str, Any]] = [
            ("SIZES", lambda: spec.quantity_to_lots(s.sizes[symbol], symbol)),
            ("SIZE_NOTIONAL", lambda: spec.quote.to_units(s.size_notional, "size_notional")),
            ("TARGETS", lambda: _base_units(spec, s.targets[symbol])),
            ("INVENTORY_LIMITS", lambda: _base_units(spec, s.inventory_limits[symbol])),
            ("PRICES", lambda: payloads.subticks(spec, s.prices[symbol])),
        ]
        for name, check in checks:
            try:
                check()
            except KeyError:
                continue
            except (MoneyError, PayloadError) as error:
                raise ConfigError(f"configuration error:\n  CRYPTEX_MM_{name}: {error}") from None

    async def cancel_all(self) -> int:
        """Cancel every open order of the bot's markets, one call per market, within the
        shutdown timeout; the number cancelled (an order still open in the answer has its
        cancel queued behind a slow engine; one that filled meanwhile is not counted)."""
        cancelled = 0
        try:
            async with asyncio.timeout(self.settings.shutdown_timeout_s):
                for symbol in self.markets:
                    try:
                        orders = await self.rest.call(
                            "DELETE", "/api/v1/orders/open", params={"market": symbol}, retries=1
                        )
                    except ApiError as error:  # this market (delisted, say): the others still
                        log.error(
                            "could not cancel a market's open orders",
                            extra={"market": symbol, "error": repr(error)},
                        )
                        continue
                    cancelled += sum(order["status"] in _CANCELLED_OR_QUEUED for order in orders)
            log.info("open orders cancelled", extra={"count": cancelled})
        except (TimeoutError, ApiError, UnavailableError) as error:
            log.error(
                "could not cancel every open order",
                extra={"count": cancelled, "error": repr(error)},
            )
        return cancelled

    # ------------------------------------------------------------------ one market

    async def _loop(self, market: Market) -> None:
        backoff = Backoff(self.rng, self.settings.backoff_base_s, self.settings.backoff_cap_s)
        while True:
            market.wake.clear()  # a wake that comes during the cycle starts the next at once
            try:
                await self._cycle(market)
            except (ApiError, UnavailableError, PayloadError) as error:
                if isinstance(error, PayloadError):
                    self.metrics.errors.labels("payload").inc()
                elif isinstance(error, ApiError) and not isinstance(error, RateLimitedError):
                    self.metrics.errors.labels("api").inc()
                market.stale_at = time.monotonic()
                delay = backoff.next(getattr(error, "retry_after", None))
                log.warning(
                    "quoting failed, backing off",
                    extra={"market": market.symbol, "error": str(error),
                           "delay_s": round(delay, 3)},
                )  # fmt: skip
                market.progress_at = time.monotonic()
                await asyncio.sleep(delay)
                continue
            except Exception:
                # A bug, not the API: say so loudly, but keep the other markets' quotes (and
                # this one's, after a pause) rather than leave stale ones up.
                self.metrics.errors.labels("internal").inc()
                log.exception("quoting failed unexpectedly", extra={"market": market.symbol})
                market.stale_at = time.monotonic()
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            market.progress_at = time.monotonic()
            await nap(market.wake, self.settings.interval_s)

    async def _cycle(self, market: Market) -> None:
        now = time.monotonic()
        if market.stale_at is not None or now - market.synced_at >= self.settings.resync_s:
            await self._sync(market, now)
        reference = await self._reference(market, now)
        if reference is None:
            return
        spec = market.spec
        params = self._params(market, reference)
        if market.valued_at is None:
            market.valued_at = market.anchor if market.anchor is not None else reference
        plan = quoting.plan(
            spec, params, reference=reference, anchor=market.anchor,
            position=self._position(market), funds=self._funds(spec),
            resting=market.orders.resting(), refused=self._refused(market, now),
        )  # fmt: skip
        market.anchor = plan.anchor
        if plan.requoted:
            market.refused.clear()
        if not plan.idle:
            reason = "price" if plan.requoted else "orders"
            self.metrics.refreshes.labels(market.symbol, reason).inc()
            log.info(
                "requoting",
                extra={"market": market.symbol, "reason": reason,
                       "reference": _price(spec, plan.anchor),
                       "cancel": len(plan.cancel), "place": len(plan.place)},
            )  # fmt: skip
            await self._execute(market, plan)
        self._gauges(market, reference)

    def _refused(self, market: Market, now: float) -> set[tuple[Side, int]]:
        for quote, when in list(market.refused.items()):
            if now - when >= self.settings.resync_s:
                del market.refused[quote]
        return set(market.refused)

    async def _sync(self, market: Market, now: float) -> None:
        since = market.stale_at
        await self._sync_account(now - self.settings.resync_s / 2 if since is None else since)
        answer = await self.rest.call(
            "GET", "/api/v1/orders/open", params={"market": market.symbol}
        )
        market.orders.reset(payloads.resting(market.spec, order) for order in answer)
        market.synced_at, market.stale_at = now, None

    async def _sync_account(self, newer_than: float) -> None:
        """Markets and balances from REST, unless read since `newer_than` (the markets share
        them: one read serves every loop that waits for it)."""
        if self._account_synced_at >= newer_than:
            return
        async with self._account_lock:
            if self._account_synced_at >= newer_than:
                return
            started = time.monotonic()
            specs = payloads.markets(await self.rest.call("GET", "/api/v1/markets"))
            for symbol, market in self.markets.items():
                if symbol in specs:
                    market.spec = specs[symbol]
                elif market.spec.trading_state is not TradingState.CLOSED:
                    # Delisted: place nothing more; what rests is the operator's to cancel.
                    log.warning("market not listed any more", extra={"market": symbol})
                    market.spec = dataclasses.replace(
                        market.spec, trading_state=TradingState.CLOSED
                    )
            self.assets = payloads.assets(specs) | self.assets
            await self._read_balances()
            self._account_synced_at = started

    async def _read_balances(self) -> None:
        answer = await self.rest.call("GET", "/api/v1/balances")
        self.balances = payloads.balances(answer, self.assets)
        self._balance_gauges()

    async def _reference(self, market: Market, now: float) -> int | None:
        s = self.settings
        if s.price_feed_url:
            if market.reference is None or now - market.stepped_at >= s.interval_s:
                market.stepped_at = now
                url = s.price_feed_url.replace("{symbol}", market.symbol)
                try:
                    price = payloads.feed_price(await self.rest.feed(url))
                    market.reference = payloads.subticks(market.spec, price)
                except (UnavailableError, PayloadError) as error:
                    self.metrics.errors.labels("feed").inc()
                    log.warning("price feed failed", extra={"market": market.symbol,
                                                            "error": str(error)})  # fmt: skip
            return market.reference
        if market.reference is None:
            market.reference = await self._initial_reference(market)
            market.stepped_at = now
            return market.reference
        steps = int((now - market.stepped_at) // s.interval_s)
        for _ in range(min(steps, _MAX_WALK_STEPS)):
            market.reference = walk.step(market.reference, market.rng, s.volatility_bps)
        market.stepped_at = now if steps > _MAX_WALK_STEPS else (
            market.stepped_at + steps * s.interval_s
        )  # fmt: skip
        return market.reference

    async def _initial_reference(self, market: Market) -> int | None:
        """The configured price, else where the book is (mid, last trade, the one side)."""
        price = self.settings.prices.get(market.symbol)
        if price is not None:
            return payloads.subticks(market.spec, price)
        query: dict[str, str | int] = {"symbol": market.symbol, "limit": 1}
        depth = await self.rest.call("GET", "/api/v1/depth", params=query)
        trades = await self.rest.call("GET", "/api/v1/trades", params=query)
        reference = payloads.book_reference(market.spec, depth, trades)
        if reference is None and not market.waiting:
            market.waiting = True
            self.metrics.errors.labels("no_reference").inc()
            log.warning(
                "no price to start from: the book is empty; set CRYPTEX_MM_PRICES or a feed",
                extra={"market": market.symbol},
            )
        return reference

    def _params(self, market: Market, reference: int) -> QuoteParams:
        if market.params is None:
            s, spec = self.settings, market.spec
            if market.symbol in s.sizes:
                size = spec.quantity_to_lots(s.sizes[market.symbol])
            else:  # a notional: lots at the first reference, then fixed
                notional = spec.quote.to_units(s.size_notional, "size_notional")
                per_lot = spec.notional(max(1, reference // SUBTICKS), 1)
                size = max(1, -(-notional // per_lot))
            if market.symbol in s.inventory_limits:
                limit = _base_units(spec, s.inventory_limits[market.symbol])
            else:
                limit = spec.base_units(2 * s.levels * size)
            market.params = QuoteParams(
                levels=s.levels, spread_bps=s.spread_bps, step_bps=s.level_step_bps,
                size=size, skew_bps=s.skew_bps, inventory_limit=limit,
                requote_bps=s.requote_bps,
            )  # fmt: skip
        return market.params

    def _position(self, market: Market) -> Position:
        spec = market.spec
        quote = self.balances.get(spec.quote.symbol, _NO_BALANCE).total
        sharing = sum(1 for m in self.markets.values() if m.spec.quote == spec.quote)
        target = self.settings.targets.get(market.symbol)
        return Position(
            base=self.balances.get(spec.base.symbol, _NO_BALANCE).total,
            quote=quote // max(1, sharing),
            target=None if target is None else _base_units(spec, target),
            valued_at=market.valued_at,
        )

    def _funds(self, spec: MarketSpec) -> Funds:
        return Funds(
            base=self.balances.get(spec.base.symbol, _NO_BALANCE).free,
            quote=self.balances.get(spec.quote.symbol, _NO_BALANCE).free,
        )

    # ------------------------------------------------------------------ orders

    async def _execute(self, market: Market, plan: Plan) -> None:
        async with self._execution:
            for order in plan.cancel:
                await self._cancel(market, order)
            if plan.place or (plan.cancel and plan.wanted):
                await self._read_balances()  # the truth, after the cancels released funds
                for quote in quoting.fit(market.spec, plan.wanted, self._funds(market.spec)):
                    await self._place(market, quote)

    async def _cancel(self, market: Market, order: Resting) -> None:
        try:
            answer = await self.rest.call("DELETE", f"/api/v1/order/{order.order_id}")
        except ApiError as error:
            if error.code in (NOT_OPEN, NO_SUCH_ORDER):
                market.orders.gone(order.order_id, OrderStatus.FILLED)
                return
            raise
        status = payloads.order_change(market.spec, answer).status
        # Still open: the engine has not answered yet, but it will cancel it.
        market.orders.gone(order.order_id, OrderStatus.CANCELED if status.is_open else status)
        if status is OrderStatus.CANCELED or status.is_open:
            self.metrics.canceled.labels(market.symbol).inc()
        log.debug("cancelled", extra={"market": market.symbol, "order_id": order.order_id})

    async def _place(self, market: Market, quote: Quote) -> None:
        spec, side = market.spec, quote.side.value.lower()
        body = {
            "side": side, "type": "limit", "price": spec.format_price(quote.price),
            "quantity": spec.format_quantity(quote.quantity), "market": market.symbol,
            "timeInForce": "GTC", "postOnly": self.settings.post_only,
            "clientOrderId": f"mm-{self._run_id}-{next(self._client_ids)}",
        }  # fmt: skip
        try:
            answer = await self.rest.call("POST", "/api/v1/order", body=body)
        except ApiError as error:
            if isinstance(error, RateLimitedError):
                raise
            reason = _REFUSALS.get(error.code, "refused")
            self.metrics.rejected.labels(market.symbol, reason).inc()
            log.warning(
                "quote refused",
                extra={"market": market.symbol, "reason": reason, "error": error.msg, **body},
            )
            market.stale_at = time.monotonic()  # balances or rules were not what we thought
            return
        order = payloads.resting(spec, answer)
        status = payloads.order_change(spec, answer).status
        market.orders.placed(order, status)
        if status in (OrderStatus.REJECTED, OrderStatus.EXPIRED):
            reason = str(answer.get("reason") or status.value).lower()
            market.refused[quote.side, quote.price] = time.monotonic()
            self.metrics.rejected.labels(market.symbol, reason).inc()
            log.info("quote not placed", extra={"market": market.symbol, "reason": reason,
                                                "order_id": order.order_id})  # fmt: skip
            return
        self.metrics.placed.labels(market.symbol, side).inc()
        locked = quoting.lock(spec, quote.side, quote.price, order.remaining)
        self._reserve(spec, quote.side, locked)
        log.debug("placed", extra={"market": market.symbol, "order_id": order.order_id, **body})

    def _reserve(self, spec: MarketSpec, side: Side, units: int) -> None:
        """What a new order locks, moved from free to locked here too, so that the next plan
        sees it before the balances are read again."""
        asset = spec.quote.symbol if side is Side.BUY else spec.base.symbol
        held = self.balances.get(asset, _NO_BALANCE)
        units = min(units, held.free)
        self.balances[asset] = Balance(held.free - units, held.locked + units)
        self._balance_gauges()

    # ------------------------------------------------------------------ the private streams

    def _on_order(self, data: dict[str, Any]) -> None:
        market = self.markets.get(str(data.get("market")))
        if market is None:
            return
        try:
            change = payloads.order_change(market.spec, data)
        except PayloadError as error:
            self.metrics.errors.labels("payload").inc()
            log.warning("unreadable order update", extra={"error": str(error)})
            return
        known = market.orders.open.get(change.order_id)
        filled = market.orders.changed(change)
        if filled and known is not None:
            self.metrics.fills.labels(market.symbol, known.side.value.lower()).inc()
            log.info(
                "quote traded",
                extra={"market": market.symbol, "order_id": change.order_id,
                       "status": change.status.value,
                       "filled": market.spec.format_quantity(filled)},
            )  # fmt: skip
        if filled or not change.status.is_open:
            market.wake.set()

    def _on_balances(self, data: list[dict[str, Any]]) -> None:
        try:
            self.balances.update(payloads.balances(data, self.assets))
        except PayloadError as error:
            self.metrics.errors.labels("payload").inc()
            log.warning("unreadable balances", extra={"error": str(error)})
            return
        self._balance_gauges()

    def _on_subscribed(self) -> None:
        """(Re)subscribed: updates may have been missed meanwhile, so read everything again."""
        now = time.monotonic()
        for market in self.markets.values():
            market.stale_at = now
            market.wake.set()

    # ------------------------------------------------------------------ gauges

    def _gauges(self, market: Market, reference: int) -> None:
        spec, symbol = market.spec, market.symbol
        self.metrics.reference.labels(symbol).set(_price(spec, reference))
        position = self._position(market)
        base = spec.base.decimals
        self.metrics.inventory.labels(symbol).set(position.base / 10**base)
        if market.anchor is not None:
            target = position.target_at(spec, market.anchor)
            self.metrics.target.labels(symbol).set(target / 10**base)
        resting = market.orders.resting()
        for side in Side:
            count = sum(1 for order in resting if order.side is side)
            self.metrics.open_orders.labels(symbol, side.value.lower()).set(count)

    def _balance_gauges(self) -> None:
        for asset, balance in self.balances.items():
            decimals = self.assets[asset].decimals if asset in self.assets else 0
            self.metrics.balance.labels(asset, "free").set(balance.free / 10**decimals)
            self.metrics.balance.labels(asset, "locked").set(balance.locked / 10**decimals)


async def nap(event: asyncio.Event, seconds: float) -> None:
    """Sleep until the event is set or the time is up. Not `asyncio.wait_for`: on Python 3.11
    it swallows a cancellation that comes as the event is set or the time runs out, and a
    loop that waits with it then never stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def _base_units(spec: MarketSpec, amount: str) -> int:
    """A base amount of the settings (zero allowed: a target, a limit that turns skew off)."""
    return to_units(amount, spec.base.decimals, spec.symbol, allow_zero=True)


def _price(spec: MarketSpec, reference: int) -> float:
    """A reference in sub-ticks as a price, for gauges and log lines only."""
    tick = spec.tick_size
    units: int = SUBTICKS * 10**tick.scale
    return reference * tick.digits / units


async def serve(settings: MmSettings) -> int:
    """The process: metrics and health, SIGTERM and SIGINT, one market maker."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    registry = CollectorRegistry()
    metrics = MmMetrics(registry)
    async with aiohttp.ClientSession() as http:
        bot = MarketMaker(settings, http, metrics)
        server = metrics_server.serve(
            registry, settings.metrics_host, settings.metrics_port, bot.healthy
        )
        try:
            await bot.run(stop)
        finally:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
    return 0
