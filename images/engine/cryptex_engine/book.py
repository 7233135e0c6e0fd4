"""The order book of one market: price-time priority matching on integers.

`OrderBook.apply(command)` returns the events of `cryptex.wire`, in the order its docstring lists.
Prices are ticks, quantities lots; time and ids arrive with the command, so replaying the same
commands always yields the same events and the same `state_hash()`.

Stop orders wait off the book, in two sorted indexes (those that trigger when the price rises
and those that trigger when it falls), until a trade price reaches their stop price; then they
execute within the same command, in the order `cryptex.wire` defines.

The book never does I/O, never reads a clock, never draws a random number and never checks a
balance: the ledger has locked the funds of every order before it gets here.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator

import msgspec
from sortedcontainers import SortedList

from cryptex.wire import (
    AllOrdersCancelled,
    AmendOrder,
    AmendRejected,
    BookSnapshot,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Command,
    ControlRejected,
    DepthDiff,
    DepthSnapshot,
    Event,
    ExpireReason,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderType,
    PlaceOrder,
    PriceLevel,
    RejectReason,
    RestingOrder,
    SelfTradePrevention,
    SetTradingState,
    Side,
    TakeSnapshot,
    TimeInForce,
    TradeExecuted,
    TradingState,
    TradingStateChanged,
    encode,
)

_BUY = Side.BUY
_SELL = Side.SELL
_EXPIRE_MAKER = SelfTradePrevention.EXPIRE_MAKER
_EXPIRE_BOTH = SelfTradePrevention.EXPIRE_BOTH
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
# A level's queue is compacted once cancelled entries outnumber live ones by this much.
_COMPACT_SLACK = 16


class BookInvariantError(AssertionError):
    """The book's internal state is inconsistent: a bug, never a business outcome."""


class _Order(msgspec.Struct, gc=False):
    """A resting order. Untracked by the cyclic garbage collector (it holds only integers and
    an enum, so it can be in no cycle): with a million of them resting, every full collection
    would otherwise walk them all."""

    order_id: int
    account: int
    side: Side
    price: int  # ticks
    remaining: int  # lots; 0 once cancelled, the queue entry dropped lazily
    quantity: int  # lots: its whole quantity, so what it executed is quantity - remaining


class _Level:
    """Orders resting at one price, oldest first. Cancelled orders stay in the queue with
    `remaining == 0` until they reach its front or the queue is compacted: O(1) cancels."""

    __slots__ = ("live", "queue", "total")

    def __init__(self) -> None:
        self.queue: deque[_Order] = deque()
        self.total = 0  # lots of the live orders
        self.live = 0  # number of live orders

    def live_orders(self) -> Iterator[_Order]:
        return (order for order in self.queue if order.remaining)


class _Side:
    """One side of the book: levels by price, and their prices sorted (best is first for asks,
    last for bids)."""

    __slots__ = ("changed", "levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[int, _Level] = {}
        self.prices = SortedList()
        self.changed: set[int] = set()  # prices changed since the last depth diff


class _Stop(msgspec.Struct, gc=False):
    """A waiting stop order: its command as placed (its quantity lowered by amends) and its key
    in the index it waits in."""

    command: PlaceOrder
    rises: bool  # it triggers when the price rises to its stop price
    key: tuple[int, int, int]  # (stop price, or its negation when it falls; sequence; id)


class OrderBook:
    def __init__(self, trading_state: TradingState = TradingState.ACTIVE) -> None:
        self.trading_state = trading_state
        self.update_id = 0  # grows by one on every change of a price level
        self._next_trade_id = 1
        self._bids = _Side()
        self._asks = _Side()
        self._orders: dict[int, _Order] = {}
        self._diff_from = 1  # first update id not yet handed out in a depth diff
        self._last_price = 0  # ticks of the last trade; 0 until the first
        # Waiting stops by id, oldest first; and their keys, the next to trigger first: rising
        # by stop price, falling by stop price negated, then by placing order.
        self._stops: dict[int, _Stop] = {}
        self._rising = SortedList()
        self._falling = SortedList()
        self._stop_sequence = 0

    # ------------------------------------------------------------------ commands

    def apply(self, command: Command) -> list[Event]:
        # `type(command) is`, which mypy narrows, and not `match`: its class patterns are
        # isinstance checks, which cost ~100 ns more per command (a place takes ~4 us).
        if type(command) is PlaceOrder:
            return self._place(command)
        if type(command) is CancelOrder:
            return self._cancel(command)
        if type(command) is SetTradingState:
            return self._set_trading_state(command)
        if type(command) is CancelAllOrders:
            return self._cancel_all(command)
        if type(command) is AmendOrder:
            return self._amend(command)
        if type(command) is TakeSnapshot:
            return []  # the engine's concern: the book only has to stay as it is
        raise TypeError(f"not a command: {command!r}")

    def _place(self, cmd: PlaceOrder) -> list[Event]:
        reason = self._refusal(cmd)
        if reason is not None:
            return [OrderRejected(cmd.order_id, cmd.account, reason, cmd.ts)]
        order_type = cmd.order_type
        if order_type is not _LIMIT and order_type is not _MARKET:
            self._wait(cmd)
            return [
                OrderAccepted(
                    cmd.order_id, cmd.account, cmd.side, _limit_of(cmd), cmd.quantity, cmd.ts
                )
            ]
        is_market = order_type is _MARKET
        limit = cmd.protection_price if is_market else cmd.price
        if cmd.post_only and self._crosses(cmd.side is _BUY, limit):
            return [
                OrderRejected(cmd.order_id, cmd.account, RejectReason.POST_ONLY_WOULD_TAKE, cmd.ts)
            ]
        events: list[Event] = [
            OrderAccepted(cmd.order_id, cmd.account, cmd.side, limit, cmd.quantity, cmd.ts)
        ]
        if not self._stops:  # nothing to trigger: the common case, kept lean
            self._execute(cmd, is_market, limit, events)
            return events
        previous, next_trade_id = self._last_price, self._next_trade_id
        self._execute(cmd, is_market, limit, events)
        if self._next_trade_id != next_trade_id:
            self._trigger(events, 1, previous, cmd.ts)
        return events

    def _execute(self, cmd: PlaceOrder, is_market: bool, limit: int, events: list[Event]) -> None:
        """Match an accepted order, then rest or end what is left of it."""
        is_buy = cmd.side is _BUY
        tif = cmd.time_in_force
        if is_market and tif is TimeInForce.GTC:
            tif = TimeInForce.IOC
        if tif is TimeInForce.FOK and not self._fillable(cmd, is_buy, limit):
            events.append(
                OrderExpired(cmd.order_id, cmd.account, cmd.quantity, ExpireReason.FOK, cmd.ts)
            )
            return
        remaining, stopped_by_self_trade = self._match(cmd, is_buy, limit, events)
        if remaining == 0:
            events.append(OrderFilled(cmd.order_id, cmd.account, cmd.ts))
        elif stopped_by_self_trade:
            events.append(
                OrderExpired(cmd.order_id, cmd.account, remaining, ExpireReason.SELF_TRADE, cmd.ts)
            )
        elif tif is TimeInForce.GTC:
            self._rest(_Order(cmd.order_id, cmd.account, cmd.side, limit, remaining, cmd.quantity))
        else:
            expiry = ExpireReason.FOK if tif is TimeInForce.FOK else ExpireReason.IOC
            events.append(OrderExpired(cmd.order_id, cmd.account, remaining, expiry, cmd.ts))

    def _refusal(self, cmd: PlaceOrder) -> RejectReason | None:
        if not self.trading_state.accepts_orders:
            return RejectReason.MARKET_NOT_OPEN
        if cmd.quantity <= 0:
            return RejectReason.INVALID_ORDER
        order_type = cmd.order_type
        if order_type is _MARKET:
            if cmd.protection_price <= 0 or cmd.post_only or cmd.stop_price:
                return RejectReason.INVALID_ORDER
            # Fill-or-kill is judged in lots; a budget would make it a second, quote-side test.
            if cmd.quote_budget and (cmd.quote_budget < 0 or cmd.time_in_force is TimeInForce.FOK):
                return RejectReason.INVALID_ORDER
        elif order_type is _LIMIT:
            if (
                cmd.price <= 0
                or cmd.quote_budget
                or cmd.stop_price
                or (cmd.post_only and cmd.time_in_force is not TimeInForce.GTC)
            ):
                return RejectReason.INVALID_ORDER
        else:
            return self._stop_refusal(cmd)
        if cmd.order_id in self._orders or cmd.order_id in self._stops:
            return RejectReason.DUPLICATE_ORDER_ID
        return None

    def _stop_refusal(self, cmd: PlaceOrder) -> RejectReason | None:
        if cmd.stop_price <= 0 or cmd.post_only or cmd.quote_budget or _limit_of(cmd) <= 0:
            return RejectReason.INVALID_ORDER
        if cmd.order_id in self._orders or cmd.order_id in self._stops:
            return RejectReason.DUPLICATE_ORDER_ID
        last = self._last_price
        if not last:
            return RejectReason.NO_LAST_PRICE
        stop = cmd.stop_price
        if (stop <= last) if cmd.order_type.triggers_on_rise(cmd.side) else (stop >= last):
            return RejectReason.STOP_WOULD_TRIGGER
        return None

    # ------------------------------------------------------------------ stops

    def _wait(self, cmd: PlaceOrder) -> None:
        """Put a stop order in its index until a trade price reaches its stop price."""
        self._stop_sequence += 1
        rises = cmd.order_type.triggers_on_rise(cmd.side)
        key = (cmd.stop_price if rises else -cmd.stop_price, self._stop_sequence, cmd.order_id)
        (self._rising if rises else self._falling).add(key)
        self._stops[cmd.order_id] = _Stop(cmd, rises, key)

    def _unwait(self, stop: _Stop) -> None:
        del self._stops[stop.command.order_id]
        (self._rising if stop.rises else self._falling).remove(stop.key)

    def _trigger(self, events: list[Event], start: int, previous: int, ts: int) -> None:
        """After trades (in `events` from `start`; the last price was `previous` before them):
        every stop their price path crossed executes, in crossing order; trades of those can
        trigger more, which execute after them."""
        triggered = deque(self._crossed(events, start, previous))
        while triggered:
            cmd = triggered.popleft()
            is_market = cmd.order_type.executes_as_market
            limit = _limit_of(cmd)
            events.append(
                OrderTriggered(
                    cmd.order_id, cmd.account, cmd.side, limit, cmd.quantity, cmd.stop_price, ts
                )
            )
            start = len(events)
            order = msgspec.structs.replace(
                cmd, order_type=cmd.order_type.triggered_type, stop_price=0, ts=ts
            )
            previous, next_trade_id = self._last_price, self._next_trade_id
            self._execute(order, is_market, limit, events)
            if self._next_trade_id != next_trade_id:
                triggered.extend(self._crossed(events, start, previous))

    def _crossed(self, events: list[Event], start: int, previous: int) -> list[PlaceOrder]:
        """The stops crossed by the path the price took through one taker's trades (in
        `events` from `start`): from `previous` to its first trade, then monotonically to its
        last, the last price now; taken out of their indexes in the order they were crossed."""
        first = next(e.price for e in events[start:] if type(e) is TradeExecuted)
        crossed: list[PlaceOrder] = []
        for point in (first, self._last_price):
            if point > previous:
                keys, bound = self._rising, point
            elif point < previous:
                keys, bound = self._falling, -point
            else:
                continue
            while keys and keys[0][0] <= bound:
                stop = self._stops.pop(keys.pop(0)[2])
                crossed.append(stop.command)
            previous = point
        return crossed

    def _crosses(self, is_buy: bool, limit: int) -> bool:
        if is_buy:
            asks = self._asks.prices
            return bool(asks) and asks[0] <= limit
        bids = self._bids.prices
        return bool(bids) and bids[-1] >= limit

    def _fillable(self, cmd: PlaceOrder, is_buy: bool, limit: int) -> bool:
        """Whether a fill-or-kill order would fill completely, self-trade prevention included."""
        opposite = self._asks if is_buy else self._bids
        prices = opposite.prices if is_buy else reversed(opposite.prices)
        needed = cmd.quantity
        skip_own = cmd.self_trade_prevention is _EXPIRE_MAKER
        for price in prices:
            if (price > limit) if is_buy else (price < limit):
                break
            for maker in opposite.levels[price].live_orders():
                if maker.account == cmd.account:
                    if skip_own:
                        continue
                    return False
                needed -= maker.remaining
                if needed <= 0:
                    return True
        return False

    def _match(
        self, cmd: PlaceOrder, is_buy: bool, limit: int, events: list[Event]
    ) -> tuple[int, bool]:
        """Trade `cmd` against the opposite side up to `limit` (and within its quote budget, if
        it has one); return (lots left, whether self-trade prevention stopped the taker)."""
        opposite = self._asks if is_buy else self._bids
        prices = opposite.prices
        levels = opposite.levels
        orders = self._orders
        best_index = 0 if is_buy else -1
        remaining = cmd.quantity
        account = cmd.account
        taker_id = cmd.order_id
        taker_side = cmd.side
        stp = cmd.self_trade_prevention
        ts = cmd.ts
        budget = cmd.quote_budget  # tick-lots left to spend or receive
        budgeted = budget > 0
        stopped = halted = False
        traded_at = 0  # ticks of the last trade, which becomes the market's last price
        append = events.append
        while remaining and prices:
            price = prices[best_index]
            if (price > limit) if is_buy else (price < limit):
                break
            level = levels[price]
            total_before = level.total
            queue = level.queue
            while queue:
                maker = queue[0]
                available = maker.remaining
                if not available:  # cancelled earlier
                    queue.popleft()
                    continue
                if maker.account == account:
                    if stp is _EXPIRE_MAKER or stp is _EXPIRE_BOTH:
                        queue.popleft()
                        del orders[maker.order_id]
                        level.total -= available
                        level.live -= 1
                        maker.remaining = 0
                        append(
                            OrderExpired(
                                maker.order_id, account, available, ExpireReason.SELF_TRADE, ts
                            )
                        )
                    if stp is not _EXPIRE_MAKER:
                        stopped = halted = True
                        break
                    continue
                fill = remaining if remaining < available else available
                if budgeted:
                    affordable = budget // price
                    if affordable < fill:
                        if not affordable:  # not one more lot here, nor at worse prices
                            halted = True
                            break
                        fill = affordable
                    budget -= fill * price
                traded_at = price
                trade_id = self._next_trade_id
                self._next_trade_id = trade_id + 1
                append(
                    TradeExecuted(
                        trade_id,
                        price,
                        fill,
                        taker_side,
                        maker.order_id,
                        maker.account,
                        taker_id,
                        account,
                        ts,
                    )
                )
                remaining -= fill
                level.total -= fill
                if fill == available:
                    queue.popleft()
                    del orders[maker.order_id]
                    level.live -= 1
                    maker.remaining = 0
                    append(OrderFilled(maker.order_id, maker.account, ts))
                else:
                    maker.remaining = available - fill
                if not remaining:
                    break
            if level.total != total_before:
                opposite.changed.add(price)
                self.update_id += 1
            if not level.live:
                del levels[price]
                prices.pop(best_index)
            if halted:
                break
        if traded_at:
            self._last_price = traded_at
        return remaining, stopped

    def _rest(self, order: _Order) -> None:
        side = self._bids if order.side is _BUY else self._asks
        price = order.price
        level = side.levels.get(price)
        if level is None:
            level = side.levels[price] = _Level()
            side.prices.add(price)
        level.queue.append(order)
        level.total += order.remaining
        level.live += 1
        self._orders[order.order_id] = order
        side.changed.add(price)
        self.update_id += 1

    def _cancel(self, cmd: CancelOrder) -> list[Event]:
        order = self._orders.get(cmd.order_id)
        if order is None and cmd.order_id in self._stops:
            return self._cancel_stop(cmd)
        if not self.trading_state.accepts_cancels:
            reason = RejectReason.MARKET_NOT_OPEN
        elif order is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif order.account != cmd.account:
            reason = RejectReason.NOT_ORDER_OWNER
        else:
            remaining = self._remove(order)
            return [OrderCancelled(cmd.order_id, cmd.account, remaining, cmd.ts)]
        return [CancelRejected(cmd.order_id, cmd.account, reason, cmd.ts)]

    def _cancel_stop(self, cmd: CancelOrder) -> list[Event]:
        stop = self._stops[cmd.order_id]
        if not self.trading_state.accepts_cancels:
            reason = RejectReason.MARKET_NOT_OPEN
        elif stop.command.account != cmd.account:
            reason = RejectReason.NOT_ORDER_OWNER
        else:
            self._unwait(stop)
            return [OrderCancelled(cmd.order_id, cmd.account, stop.command.quantity, cmd.ts)]
        return [CancelRejected(cmd.order_id, cmd.account, reason, cmd.ts)]

    def _amend(self, cmd: AmendOrder) -> list[Event]:
        order = self._orders.get(cmd.order_id)
        if order is None and cmd.order_id in self._stops:
            return self._amend_stop(cmd)
        if not self.trading_state.accepts_cancels:  # a partial cancel, allowed as cancels are
            reason = RejectReason.MARKET_NOT_OPEN
        elif order is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif order.account != cmd.account:
            reason = RejectReason.NOT_ORDER_OWNER
        elif not order.quantity - order.remaining < cmd.quantity < order.quantity:
            reason = RejectReason.INVALID_ORDER
        else:
            released = order.quantity - cmd.quantity
            order.quantity = cmd.quantity
            order.remaining -= released  # in place: the queue entry, its priority, stays
            side = self._bids if order.side is _BUY else self._asks
            side.levels[order.price].total -= released
            side.changed.add(order.price)
            self.update_id += 1
            return [
                OrderAmended(
                    order.order_id, order.account, order.side, order.price, cmd.quantity,
                    released, cmd.ts,
                )
            ]  # fmt: skip
        return [AmendRejected(cmd.order_id, cmd.account, reason, cmd.ts)]

    def _amend_stop(self, cmd: AmendOrder) -> list[Event]:
        """A waiting stop has executed nothing: any quantity from 1 lot to below its own."""
        stop = self._stops[cmd.order_id]
        placed = stop.command
        if not self.trading_state.accepts_cancels:
            reason = RejectReason.MARKET_NOT_OPEN
        elif placed.account != cmd.account:
            reason = RejectReason.NOT_ORDER_OWNER
        elif not 0 < cmd.quantity < placed.quantity:
            reason = RejectReason.INVALID_ORDER
        else:
            # In place: the stop keeps its key, so its turn among stops crossed together.
            stop.command = msgspec.structs.replace(placed, quantity=cmd.quantity)
            return [
                OrderAmended(
                    placed.order_id, placed.account, placed.side, _limit_of(placed),
                    cmd.quantity, placed.quantity - cmd.quantity, cmd.ts,
                )
            ]  # fmt: skip
        return [AmendRejected(cmd.order_id, cmd.account, reason, cmd.ts)]

    def _remove(self, order: _Order) -> int:
        """Take a resting order off the book; return the lots it had left."""
        side = self._bids if order.side is _BUY else self._asks
        price = order.price
        level = side.levels[price]
        remaining = order.remaining
        del self._orders[order.order_id]
        order.remaining = 0
        level.total -= remaining
        level.live -= 1
        if not level.live:
            del side.levels[price]
            side.prices.remove(price)
        elif len(level.queue) > 2 * level.live + _COMPACT_SLACK:
            level.queue = deque(level.live_orders())
        side.changed.add(price)
        self.update_id += 1
        return remaining

    def _set_trading_state(self, cmd: SetTradingState) -> list[Event]:
        previous = self.trading_state
        if previous is TradingState.CLOSED and cmd.state is not TradingState.CLOSED:
            return [ControlRejected(RejectReason.MARKET_CLOSED, cmd.ts, cmd.request_id)]
        self.trading_state = cmd.state
        return [TradingStateChanged(previous, cmd.state, cmd.ts, cmd.request_id)]

    def _cancel_all(self, cmd: CancelAllOrders) -> list[Event]:
        events: list[Event] = []
        for order_id in sorted([*self._orders, *self._stops]):
            order = self._orders.get(order_id)
            if order is None:
                stop = self._stops[order_id]
                self._unwait(stop)
                account, remaining = stop.command.account, stop.command.quantity
            else:
                account, remaining = order.account, self._remove(order)
            events.append(OrderCancelled(order_id, account, remaining, cmd.ts))
        events.append(AllOrdersCancelled(len(events), cmd.ts, cmd.request_id))
        return events

    # ------------------------------------------------------------------ market data

    def best_bid(self) -> int | None:
        prices = self._bids.prices
        return prices[-1] if prices else None

    def best_ask(self) -> int | None:
        prices = self._asks.prices
        return prices[0] if prices else None

    def depth(self, limit: int) -> DepthSnapshot:
        """The best `limit` levels of each side, best first, as of `update_id`."""
        bids, asks = self._bids, self._asks
        return DepthSnapshot(
            last_update_id=self.update_id,
            bids=[
                PriceLevel(p, bids.levels[p].total)
                # islice slices before it reverses: the best bids are the last `limit`.
                for p in bids.prices.islice(max(0, len(bids.prices) - limit), reverse=True)
            ],
            asks=[PriceLevel(p, asks.levels[p].total) for p in asks.prices.islice(stop=limit)],
        )

    def take_depth_diff(self) -> DepthDiff | None:
        """The levels changed since the previous call (quantity 0: gone), or None if none."""
        if self._diff_from > self.update_id:
            return None
        diff = DepthDiff(
            first_update_id=self._diff_from,
            last_update_id=self.update_id,
            bids=self._changed_levels(self._bids, reverse=True),
            asks=self._changed_levels(self._asks, reverse=False),
        )
        self._diff_from = self.update_id + 1
        return diff

    @staticmethod
    def _changed_levels(side: _Side, *, reverse: bool) -> list[PriceLevel]:
        levels = side.levels
        changed = [
            PriceLevel(p, levels[p].total if p in levels else 0)
            for p in sorted(side.changed, reverse=reverse)
        ]
        side.changed.clear()
        return changed

    @property
    def resting_orders(self) -> int:
        return len(self._orders)

    def resting_order(self, order_id: int) -> RestingOrder | None:
        order = self._orders.get(order_id)
        if order is None:
            return None
        return RestingOrder(
            order.order_id, order.account, order.side, order.price, order.remaining,
            order.quantity,
        )  # fmt: skip

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> BookSnapshot:
        return BookSnapshot(
            trading_state=self.trading_state,
            next_trade_id=self._next_trade_id,
            update_id=self.update_id,
            orders=[
                RestingOrder(o.order_id, o.account, o.side, o.price, o.remaining, o.quantity)
                for o in self._iter_orders()
            ],
            last_price=self._last_price,
            stops=[stop.command for stop in self._stops.values()],
        )

    @classmethod
    def restore(cls, snapshot: BookSnapshot) -> OrderBook:
        book = cls(snapshot.trading_state)
        for resting in snapshot.orders:
            book._rest(
                _Order(
                    resting.order_id,
                    resting.account,
                    resting.side,
                    resting.price,
                    resting.remaining,
                    resting.quantity or resting.remaining,
                )
            )
        for stop in snapshot.stops:
            book._wait(stop)
        book._last_price = snapshot.last_price
        book._next_trade_id = snapshot.next_trade_id
        book.update_id = snapshot.update_id
        book._diff_from = snapshot.update_id + 1
        book._bids.changed.clear()
        book._asks.changed.clear()
        return book

    def state_hash(self) -> str:
        """A digest of everything that decides future events: equal hashes, equal futures."""
        return hashlib.sha256(encode(self.snapshot())).hexdigest()

    def _iter_orders(self) -> Iterator[_Order]:
        """Live orders: bids best first, then asks best first, oldest first within a level."""
        for side, prices in (
            (self._bids, reversed(self._bids.prices)),
            (self._asks, iter(self._asks.prices)),
        ):
            for price in prices:
                yield from side.levels[price].live_orders()

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Raise BookInvariantError unless the book is consistent and not crossed."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid is not None and ask is not None and bid >= ask:
            raise BookInvariantError(f"book crossed: best bid {bid} >= best ask {ask}")
        seen: set[int] = set()
        for side_name, side, expected in (("bid", self._bids, _BUY), ("ask", self._asks, _SELL)):
            if list(side.prices) != sorted(side.levels):
                raise BookInvariantError(f"{side_name} price index differs from its levels")
            for price, level in side.levels.items():
                live = list(level.live_orders())
                if not live:
                    raise BookInvariantError(f"empty {side_name} level {price} kept")
                if level.live != len(live) or level.total != sum(o.remaining for o in live):
                    raise BookInvariantError(f"{side_name} level {price} totals disagree")
                if any(o.remaining > o.quantity for o in live):
                    raise BookInvariantError(f"{side_name} order at {price} exceeds its quantity")
                for order in live:
                    if order.price != price or order.side is not expected:
                        raise BookInvariantError(f"order {order.order_id} in the wrong level")
                    if self._orders.get(order.order_id) is not order:
                        raise BookInvariantError(f"order {order.order_id} missing from index")
                    if order.order_id in seen:
                        raise BookInvariantError(f"order {order.order_id} rests twice")
                    seen.add(order.order_id)
        if len(seen) != len(self._orders):
            raise BookInvariantError("the order index holds orders that rest nowhere")
        self._check_stops()

    def _check_stops(self) -> None:
        last = self._last_price
        if self._stops and not last:
            raise BookInvariantError("stops wait in a market that has never traded")
        if len(self._rising) + len(self._falling) != len(self._stops):
            raise BookInvariantError("the stop indexes and the waiting stops differ in number")
        for order_id, stop in self._stops.items():
            cmd = stop.command
            if order_id in self._orders:
                raise BookInvariantError(f"stop {order_id} both waits and rests")
            if stop.rises is not cmd.order_type.triggers_on_rise(cmd.side):
                raise BookInvariantError(f"stop {order_id} waits for the wrong direction")
            if stop.key not in (self._rising if stop.rises else self._falling):
                raise BookInvariantError(f"stop {order_id} is missing from its index")
            if (cmd.stop_price <= last) if stop.rises else (cmd.stop_price >= last):
                raise BookInvariantError(f"stop {order_id} was crossed but still waits")


def _limit_of(cmd: PlaceOrder) -> int:
    """The worst price an order may trade at: its protection price if it executes as a market
    order, else its price (ticks)."""
    return cmd.protection_price if cmd.order_type.executes_as_market else cmd.price
