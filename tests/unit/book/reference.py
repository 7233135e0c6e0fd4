"""A naive order book: one plain list of orders, re-sorted on every step. Obviously correct and
slow; the oracle that the fast book must agree with event for event."""

from __future__ import annotations

from dataclasses import dataclass

from msgspec.structs import replace

from cryptex.wire import (
    AllOrdersCancelled,
    AmendOrder,
    AmendRejected,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Command,
    ControlRejected,
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
    SelfTradePrevention,
    SetTradingState,
    Side,
    TimeInForce,
    TradeExecuted,
    TradingState,
    TradingStateChanged,
)

STP = SelfTradePrevention


@dataclass
class Order:
    seq: int
    order_id: int
    account: int
    side: Side
    price: int
    remaining: int
    quantity: int


@dataclass
class Stop:
    seq: int
    command: PlaceOrder

    @property
    def rises(self) -> bool:
        stop_loss = self.command.order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT)
        return stop_loss == (self.command.side is Side.BUY)

    @property
    def limit(self) -> int:
        market = self.command.order_type in (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)
        return self.command.protection_price if market else self.command.price


LIMIT_STOPS = (OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
MARKET_STOPS = (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)


class ReferenceBook:
    def __init__(self) -> None:
        self.state = TradingState.ACTIVE
        self.orders: list[Order] = []
        self.stops: list[Stop] = []
        self.seq = 0
        self.next_trade_id = 1
        self.update_id = 0
        self.last_price = 0

    def apply(self, command: Command) -> list[Event]:
        if isinstance(command, PlaceOrder):
            return self.place(command)
        if isinstance(command, CancelOrder):
            return self.cancel(command)
        if isinstance(command, AmendOrder):
            return self.amend(command)
        if isinstance(command, SetTradingState):
            if self.state is TradingState.CLOSED and command.state is not TradingState.CLOSED:
                return [ControlRejected(RejectReason.MARKET_CLOSED, command.ts, command.request_id)]
            previous, self.state = self.state, command.state
            return [TradingStateChanged(previous, command.state, command.ts, command.request_id)]
        assert isinstance(command, CancelAllOrders)
        events: list[Event] = []
        everything = [(o.order_id, o.account, o.remaining, o) for o in self.orders] + [
            (s.command.order_id, s.command.account, s.command.quantity, s) for s in self.stops
        ]
        for order_id, account, remaining, found in sorted(everything, key=lambda t: t[0]):
            if isinstance(found, Stop):
                self.stops.remove(found)
            else:
                self.orders.remove(found)
                self.update_id += 1
            events.append(OrderCancelled(order_id, account, remaining, command.ts))
        events.append(AllOrdersCancelled(len(events), command.ts, command.request_id))
        return events

    def makers(self, taker_side: Side, limit: int) -> list[Order]:
        """Orders a taker may meet, in the order it meets them."""
        if taker_side is Side.BUY:
            found = [o for o in self.orders if o.side is Side.SELL and o.price <= limit]
            return sorted(found, key=lambda o: (o.price, o.seq))
        found = [o for o in self.orders if o.side is Side.BUY and o.price >= limit]
        return sorted(found, key=lambda o: (-o.price, o.seq))

    def totals(self, side: Side) -> dict[int, int]:
        result: dict[int, int] = {}
        for order in self.orders:
            if order.side is side:
                result[order.price] = result.get(order.price, 0) + order.remaining
        return result

    def place(self, c: PlaceOrder) -> list[Event]:
        is_market = c.order_type is OrderType.MARKET
        is_stop = c.order_type in LIMIT_STOPS + MARKET_STOPS
        invalid = (
            c.quantity <= 0
            or (is_market and (c.protection_price <= 0 or c.post_only))
            or (is_market and c.quote_budget < 0)
            or (is_market and c.quote_budget > 0 and c.time_in_force == "FOK")
            or (c.order_type is OrderType.LIMIT and (
                c.price <= 0 or (c.post_only and c.time_in_force != "GTC")))
            or (not is_market and c.quote_budget != 0)
            or (not is_stop and c.stop_price != 0)
            or (is_stop and (c.stop_price <= 0 or c.post_only))
            or (c.order_type in LIMIT_STOPS and c.price <= 0)
            or (c.order_type in MARKET_STOPS and c.protection_price <= 0)
        )  # fmt: skip
        if self.state is not TradingState.ACTIVE:
            reason = RejectReason.MARKET_NOT_OPEN
        elif invalid:
            reason = RejectReason.INVALID_ORDER
        elif any(o.order_id == c.order_id for o in self.orders) or any(
            s.command.order_id == c.order_id for s in self.stops
        ):
            reason = RejectReason.DUPLICATE_ORDER_ID
        elif is_stop:
            stop = Stop(0, c)
            if self.last_price == 0:
                reason = RejectReason.NO_LAST_PRICE
            elif (
                (c.stop_price <= self.last_price)
                if stop.rises
                else (c.stop_price >= self.last_price)
            ):
                reason = RejectReason.STOP_WOULD_TRIGGER
            else:
                self.seq += 1
                stop.seq = self.seq
                self.stops.append(stop)
                return [OrderAccepted(c.order_id, c.account, c.side, stop.limit, c.quantity, c.ts)]
        else:
            limit = c.protection_price if is_market else c.price
            if c.post_only and self.makers(c.side, limit):
                reason = RejectReason.POST_ONLY_WOULD_TAKE
            else:
                events: list[Event] = [
                    OrderAccepted(c.order_id, c.account, c.side, limit, c.quantity, c.ts)
                ]
                self.execute(c, limit, is_market, events)
                return events
        return [OrderRejected(c.order_id, c.account, reason, c.ts)]

    def execute(self, c: PlaceOrder, limit: int, is_market: bool, events: list[Event]) -> None:
        """Match, rest or end the order; then run every stop its trades crossed."""
        start = len(events)
        self.match(c, limit, is_market, events)
        queue = self.crossed(events[start:])
        while queue:
            stop = queue.pop(0)
            cmd = stop.command
            events.append(
                OrderTriggered(cmd.order_id, cmd.account, cmd.side, stop.limit, cmd.quantity,
                               cmd.stop_price, c.ts)
            )  # fmt: skip
            as_market = cmd.order_type in MARKET_STOPS
            order = PlaceOrder(
                cmd.order_id, cmd.account, cmd.side, cmd.price, cmd.quantity, c.ts,
                order_type=OrderType.MARKET if as_market else OrderType.LIMIT,
                time_in_force=cmd.time_in_force,
                self_trade_prevention=cmd.self_trade_prevention,
                protection_price=cmd.protection_price,
            )  # fmt: skip
            start = len(events)
            self.match(order, stop.limit, as_market, events)
            queue += self.crossed(events[start:])

    def crossed(self, events: list[Event]) -> list[Stop]:
        """Stops that the price path through these trades crossed, in crossing order."""
        prices = [e.price for e in events if isinstance(e, TradeExecuted)]
        if not prices:
            return []
        found: list[Stop] = []
        previous = self.last_price
        for point in (prices[0], prices[-1]):
            if point > previous:
                leg = [s for s in self.stops if s.rises and s.command.stop_price <= point]
                leg.sort(key=lambda s: (s.command.stop_price, s.seq))
            else:
                leg = [s for s in self.stops if not s.rises and s.command.stop_price >= point]
                leg.sort(key=lambda s: (-s.command.stop_price, s.seq))
            for stop in leg:
                self.stops.remove(stop)
            found += leg
            previous = point
        self.last_price = prices[-1]
        return found

    def match(self, c: PlaceOrder, limit: int, is_market: bool, events: list[Event]) -> None:
        tif = c.time_in_force
        if is_market and tif is TimeInForce.GTC:
            tif = TimeInForce.IOC
        if tif is TimeInForce.FOK and not self.fillable(c, limit):
            events.append(OrderExpired(c.order_id, c.account, c.quantity, ExpireReason.FOK, c.ts))
            return

        opposite = Side.SELL if c.side is Side.BUY else Side.BUY
        before = self.totals(opposite)
        remaining, self_trade = c.quantity, False
        budget = c.quote_budget  # tick-lots; only when positive
        while remaining:
            makers = self.makers(c.side, limit)
            if not makers:
                break
            maker = makers[0]
            if maker.account == c.account:
                if c.self_trade_prevention in (STP.EXPIRE_MAKER, STP.EXPIRE_BOTH):
                    self.orders.remove(maker)
                    events.append(
                        OrderExpired(maker.order_id, maker.account, maker.remaining,
                                     ExpireReason.SELF_TRADE, c.ts)
                    )  # fmt: skip
                if c.self_trade_prevention in (STP.EXPIRE_TAKER, STP.EXPIRE_BOTH):
                    self_trade = True
                    break
                continue
            fill = min(remaining, maker.remaining)
            if c.quote_budget > 0:
                fill = min(fill, budget // maker.price)
                if fill == 0:
                    break
                budget -= fill * maker.price
            events.append(
                TradeExecuted(self.next_trade_id, maker.price, fill, c.side, maker.order_id,
                              maker.account, c.order_id, c.account, c.ts)
            )  # fmt: skip
            self.next_trade_id += 1
            maker.remaining -= fill
            remaining -= fill
            if maker.remaining == 0:
                self.orders.remove(maker)
                events.append(OrderFilled(maker.order_id, maker.account, c.ts))
        after = self.totals(opposite)
        self.update_id += sum(1 for p in before if before[p] != after.get(p, 0))

        if remaining == 0:
            events.append(OrderFilled(c.order_id, c.account, c.ts))
        elif self_trade:
            events.append(
                OrderExpired(c.order_id, c.account, remaining, ExpireReason.SELF_TRADE, c.ts)
            )
        elif tif is TimeInForce.GTC:
            self.seq += 1
            self.orders.append(
                Order(self.seq, c.order_id, c.account, c.side, limit, remaining, c.quantity)
            )
            self.update_id += 1
        else:
            reason = ExpireReason.FOK if tif is TimeInForce.FOK else ExpireReason.IOC
            events.append(OrderExpired(c.order_id, c.account, remaining, reason, c.ts))

    def fillable(self, c: PlaceOrder, limit: int) -> bool:
        available = 0
        for maker in self.makers(c.side, limit):
            if maker.account == c.account:
                if c.self_trade_prevention is STP.EXPIRE_MAKER:
                    continue
                break
            available += maker.remaining
        return available >= c.quantity

    def cancel(self, c: CancelOrder) -> list[Event]:
        found = [o for o in self.orders if o.order_id == c.order_id]
        stops = [s for s in self.stops if s.command.order_id == c.order_id]
        if self.state not in (TradingState.PRE_OPEN, TradingState.ACTIVE, TradingState.CANCEL_ONLY):
            reason = RejectReason.MARKET_NOT_OPEN
        elif stops and stops[0].command.account != c.account:
            reason = RejectReason.NOT_ORDER_OWNER
        elif stops:
            self.stops.remove(stops[0])
            return [OrderCancelled(c.order_id, c.account, stops[0].command.quantity, c.ts)]
        elif not found:
            reason = RejectReason.UNKNOWN_ORDER
        elif found[0].account != c.account:
            reason = RejectReason.NOT_ORDER_OWNER
        else:
            self.orders.remove(found[0])
            self.update_id += 1
            return [OrderCancelled(c.order_id, c.account, found[0].remaining, c.ts)]
        return [CancelRejected(c.order_id, c.account, reason, c.ts)]

    def amend(self, c: AmendOrder) -> list[Event]:
        found = [o for o in self.orders if o.order_id == c.order_id]
        stops = [s for s in self.stops if s.command.order_id == c.order_id]
        if self.state not in (TradingState.PRE_OPEN, TradingState.ACTIVE, TradingState.CANCEL_ONLY):
            reason = RejectReason.MARKET_NOT_OPEN
        elif stops and stops[0].command.account != c.account:
            reason = RejectReason.NOT_ORDER_OWNER
        elif stops and not 0 < c.quantity < stops[0].command.quantity:
            reason = RejectReason.INVALID_ORDER
        elif stops:
            stop = stops[0]
            released = stop.command.quantity - c.quantity
            stop.command = replace(stop.command, quantity=c.quantity)
            return [
                OrderAmended(c.order_id, c.account, stop.command.side, stop.limit, c.quantity,
                             released, c.ts)
            ]  # fmt: skip
        elif not found:
            reason = RejectReason.UNKNOWN_ORDER
        elif found[0].account != c.account:
            reason = RejectReason.NOT_ORDER_OWNER
        elif not found[0].quantity - found[0].remaining < c.quantity < found[0].quantity:
            reason = RejectReason.INVALID_ORDER
        else:
            order = found[0]
            released = order.quantity - c.quantity
            order.quantity, order.remaining = c.quantity, order.remaining - released
            self.update_id += 1
            return [
                OrderAmended(order.order_id, order.account, order.side, order.price, c.quantity,
                             released, c.ts)
            ]  # fmt: skip
        return [AmendRejected(c.order_id, c.account, reason, c.ts)]

    def depth(self, side: Side) -> list[PriceLevel]:
        totals = self.totals(side)
        return [PriceLevel(p, totals[p]) for p in sorted(totals, reverse=side is Side.BUY)]

    def resting(self) -> list[tuple[int, int, Side, int, int]]:
        bids = sorted(
            (o for o in self.orders if o.side is Side.BUY), key=lambda o: (-o.price, o.seq)
        )
        asks = sorted(
            (o for o in self.orders if o.side is Side.SELL), key=lambda o: (o.price, o.seq)
        )
        return [(o.order_id, o.account, o.side, o.price, o.remaining) for o in bids + asks]

    def waiting(self) -> list[tuple[int, int]]:
        return [
            (s.command.order_id, s.command.quantity)
            for s in sorted(self.stops, key=lambda s: s.seq)
        ]
