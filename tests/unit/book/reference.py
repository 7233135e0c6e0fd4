"""A naive order book: one plain list of orders, re-sorted on every step. Obviously correct and
slow; the oracle that the fast book must agree with event for event."""

from __future__ import annotations

from dataclasses import dataclass

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


class ReferenceBook:
    def __init__(self) -> None:
        self.state = TradingState.ACTIVE
        self.orders: list[Order] = []
        self.seq = 0
        self.next_trade_id = 1
        self.update_id = 0

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
        for order in sorted(self.orders, key=lambda o: o.order_id):
            self.orders.remove(order)
            self.update_id += 1
            events.append(
                OrderCancelled(order.order_id, order.account, order.remaining, command.ts)
            )
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
        invalid = (
            c.quantity <= 0
            or (is_market and (c.protection_price <= 0 or c.post_only))
            or (is_market and c.quote_budget < 0)
            or (is_market and c.quote_budget > 0 and c.time_in_force == "FOK")
            or (not is_market and (c.price <= 0 or (c.post_only and c.time_in_force != "GTC")))
            or (not is_market and c.quote_budget != 0)
        )
        if self.state is not TradingState.ACTIVE:
            reason = RejectReason.MARKET_NOT_OPEN
        elif invalid:
            reason = RejectReason.INVALID_ORDER
        elif any(o.order_id == c.order_id for o in self.orders):
            reason = RejectReason.DUPLICATE_ORDER_ID
        else:
            limit = c.protection_price if is_market else c.price
            if c.post_only and self.makers(c.side, limit):
                reason = RejectReason.POST_ONLY_WOULD_TAKE
            else:
                return self.execute(c, limit, is_market)
        return [OrderRejected(c.order_id, c.account, reason, c.ts)]

    def execute(self, c: PlaceOrder, limit: int, is_market: bool) -> list[Event]:
        tif = c.time_in_force
        if is_market and tif is TimeInForce.GTC:
            tif = TimeInForce.IOC
        events: list[Event] = [
            OrderAccepted(c.order_id, c.account, c.side, limit, c.quantity, c.ts)
        ]
        if tif is TimeInForce.FOK and not self.fillable(c, limit):
            return [
                *events,
                OrderExpired(c.order_id, c.account, c.quantity, ExpireReason.FOK, c.ts),
            ]

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
        return events

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
        if self.state not in (TradingState.PRE_OPEN, TradingState.ACTIVE, TradingState.CANCEL_ONLY):
            reason = RejectReason.MARKET_NOT_OPEN
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
        if self.state not in (TradingState.PRE_OPEN, TradingState.ACTIVE, TradingState.CANCEL_ONLY):
            reason = RejectReason.MARKET_NOT_OPEN
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
