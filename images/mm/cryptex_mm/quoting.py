"""The quoting rules, pure: where the bot's orders should rest, and what to cancel and place to
get there from the orders that rest now.

Integers only: prices in ticks, quantities in lots, balances in asset units, and the reference
price in sub-ticks (1/10_000 of a tick, so that a random walk or a feed can move it by less than
a tick). No I/O, no clock, no randomness, no logging: the same inputs give the same plan.

- Levels sit around a centre: the anchor (the reference when the quotes were last rebuilt,
  moved only when the reference strays more than `requote_bps` from it), shifted against the
  inventory: holding more base than the target lowers the centre and shrinks the bids, holding
  less raises it and shrinks the asks; at the inventory limit that side stops.
- The default target values the holdings at one fixed price (`Position.valued_at`, the bot's
  first anchor), not at each anchor: valued at the price of the moment, a target moves by half
  the quote holding's change in base worth, so with a large quote balance a drift of a fraction
  of a percent would put the inventory past its limit and stop a side though nothing traded.
  Held at one price, only trades (and deposits) move the inventory against the target.
- Prices are rounded away from the centre (bids down, asks up), so rounding never narrows the
  spread; each level keeps at least a tick from the one before; the best ask stays above the best
  bid.
- A quote is bumped up to the market's minimum quantity and notional, and placed only if the
  funds free once the plan's cancels are done can lock it (`MarketSpec.buy_lock`, `sell_lock`).
- A quote the market refused (post-only, it would have taken) is not tried again around the
  same anchor.
- An open order stands for a quote when side and price are equal and it still holds between half
  of the quote's quantity and all of it: partial fills down to half are not refilled, so a plan
  applied and planned again changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptex.markets import MarketError, MarketSpec
from cryptex.wire import Side

SUBTICKS: Final = 10_000  # a reference price counts 1/10_000 of a tick
BPS: Final = 10_000


@dataclass(frozen=True, slots=True)
class QuoteParams:
    levels: int  # a side
    spread_bps: int  # between the best bid and the best ask, around the centre
    step_bps: int  # between consecutive levels of one side
    size: int  # lots a level
    skew_bps: int  # how far the centre moves at the inventory limit (< BPS)
    inventory_limit: int  # base units from the target at which a side stops; 0: no skew
    requote_bps: int  # a reference move beyond this rebuilds the quotes

    def __post_init__(self) -> None:
        if self.levels < 1 or self.size < 1:
            raise ValueError("levels and size must be at least 1")
        if min(self.spread_bps, self.step_bps, self.inventory_limit, self.requote_bps) < 0:
            raise ValueError("spread, step, inventory limit and requote must not be negative")
        if not 0 <= self.skew_bps < BPS:
            raise ValueError(f"skew_bps must be from 0 to {BPS - 1}")


@dataclass(frozen=True, slots=True)
class Quote:
    side: Side
    price: int  # ticks
    quantity: int  # lots
    level: int  # 0 is the best of its side


@dataclass(frozen=True, slots=True)
class Resting:
    """One of the bot's open orders."""

    order_id: int
    side: Side
    price: int  # ticks
    quantity: int  # lots, as placed
    executed: int = 0  # lots

    @property
    def remaining(self) -> int:
        return self.quantity - self.executed


@dataclass(frozen=True, slots=True)
class Position:
    base: int  # base units held, free and locked
    quote: int  # quote units this market may count as its own, free and locked
    target: int | None = None  # base units; None: half the value at `valued_at`
    valued_at: int | None = None  # sub-ticks: the default target's price; None: the anchor

    def target_at(self, spec: MarketSpec, anchor: int) -> int:
        if self.target is not None:
            return self.target
        price = self.valued_at if self.valued_at is not None else anchor
        return neutral_target(spec, price, self.base, self.quote)


@dataclass(frozen=True, slots=True)
class Funds:
    base: int  # free base units
    quote: int  # free quote units


@dataclass(frozen=True, slots=True)
class Plan:
    anchor: int  # sub-ticks: the reference these quotes are built around
    requoted: bool  # the anchor moved (or was set) in this plan
    keep: tuple[Resting, ...]
    cancel: tuple[Resting, ...]
    wanted: tuple[Quote, ...]  # quotes no open order stands for, best first
    place: tuple[Quote, ...]  # those the funds can lock once the cancels are done

    @property
    def idle(self) -> bool:
        return not self.cancel and not self.place


def moved(anchor: int, reference: int, requote_bps: int) -> bool:
    """Whether the reference has strayed from the anchor by more than `requote_bps`."""
    return abs(reference - anchor) * BPS > requote_bps * anchor


def neutral_target(spec: MarketSpec, reference: int, base: int, quote: int) -> int:
    """Base units worth half of `base` plus `quote` (quote units) at the reference: the holding
    of a bot that wants to be neither long nor short."""
    per_lot = reference * spec.quote_units_per_tick_lot  # quote units a lot, in sub-ticks
    return (base + quote * spec.base_units_per_lot * SUBTICKS // per_lot) // 2


def deviation(base: int, target: int, limit: int) -> int:
    """Base units above (+) or below (-) the target, within the limit; 0 when skew is off."""
    if limit <= 0:
        return 0
    return max(-limit, min(limit, base - target))


def desired_quotes(
    spec: MarketSpec, params: QuoteParams, anchor: int, position: Position
) -> list[Quote]:
    """The quotes for this anchor and position, best first, alternating bid and ask."""
    limit = params.inventory_limit
    skew = deviation(position.base, position.target_at(spec, anchor), limit)
    # centre = anchor x (1 - skew_bps/BPS x skew/limit), kept as an exact fraction
    scale = BPS * limit if limit > 0 else BPS
    centre = anchor * (scale - params.skew_bps * skew)  # / scale
    denominator = scale * 2 * BPS * SUBTICKS  # offsets are counted in half basis points
    bid_size = _tapered(params.size, skew, limit)
    ask_size = _tapered(params.size, -skew, limit)
    quotes: list[Quote] = []
    previous: tuple[int, int] | None = None
    for level in range(params.levels):
        offset = params.spread_bps + 2 * level * params.step_bps
        bid = centre * (2 * BPS - offset) // denominator
        ask = -(-centre * (2 * BPS + offset) // denominator)
        if previous is None:
            ask = max(ask, bid + 1)
        else:
            bid, ask = min(bid, previous[0] - 1), max(ask, previous[1] + 1)
        previous = (bid, ask)
        for side, price, lots in ((Side.BUY, bid, bid_size), (Side.SELL, ask, ask_size)):
            quote = _sized(spec, side, price, lots, level)
            if quote is not None:
                quotes.append(quote)
    return quotes


def _tapered(size: int, skew: int, limit: int) -> int:
    """A side's size: full unless it would add to a deviation, then shrinking to 0 at the
    limit (`skew` > 0 means this side adds to it)."""
    if skew <= 0 or limit <= 0:
        return size
    return size * (limit - skew) // limit


def _sized(spec: MarketSpec, side: Side, price: int, lots: int, level: int) -> Quote | None:
    if price < 1 or lots < 1:
        return None
    per_lot = spec.notional(price, 1)
    lots = min(max(lots, spec.min_qty, -(-spec.min_notional // per_lot)), spec.max_qty)
    if not passes(spec, price, lots):
        return None
    return Quote(side, price, lots, level)


def passes(spec: MarketSpec, price: int, lots: int) -> bool:
    try:
        spec.check_order(price, lots)
    except MarketError:
        return False
    return True


def stands_for(order: Resting, quote: Quote) -> bool:
    return (
        order.side is quote.side
        and order.price == quote.price
        and (quote.quantity + 1) // 2 <= order.remaining <= quote.quantity
    )


def lock(spec: MarketSpec, side: Side, price: int, lots: int) -> int:
    """Units an order locks: quote units for a buy (fee reserve included), base for a sell."""
    return spec.buy_lock(price, lots) if side is Side.BUY else spec.sell_lock(lots)


def released(spec: MarketSpec, orders: Iterable[Resting], funds: Funds) -> Funds:
    """Funds once these orders are cancelled: at least the lock of what each has left."""
    base, quote = funds.base, funds.quote
    for order in orders:
        if order.side is Side.BUY:
            quote += spec.buy_lock(order.price, order.remaining)
        else:
            base += spec.sell_lock(order.remaining)
    return Funds(base, quote)


def fit(spec: MarketSpec, quotes: Sequence[Quote], funds: Funds) -> tuple[Quote, ...]:
    """The quotes these funds can lock, in order. A quote that does not fit whole is placed
    smaller if what fits still stands for it (half its quantity or more) and passes the
    filters, else skipped; the ones after it still try with what is left."""
    left = {Side.BUY: funds.quote, Side.SELL: funds.base}
    out: list[Quote] = []
    for quote in quotes:
        per_lot = lock(spec, quote.side, quote.price, 1)  # a lock is linear in lots
        lots = min(quote.quantity, left[quote.side] // per_lot)
        if 2 * lots < quote.quantity or not passes(spec, quote.price, lots):
            continue
        out.append(dataclasses.replace(quote, quantity=lots))
        left[quote.side] -= lock(spec, quote.side, quote.price, lots)
    return tuple(out)


def plan(
    spec: MarketSpec,
    params: QuoteParams,
    *,
    reference: int,
    anchor: int | None,
    position: Position,
    funds: Funds,
    resting: Sequence[Resting],
    refused: Collection[tuple[Side, int]] = (),
) -> Plan:
    """What to cancel and place so that the open orders are the quotes for this reference,
    position and funds (free balances, not counting what `resting` already locks).

    `refused` are (side, price) quotes the market turned down around the current anchor (a
    post-only quote that would have taken): they are not wanted again until the anchor moves."""
    requoted = anchor is None or moved(anchor, reference, params.requote_bps)
    if requoted or anchor is None:
        anchor = reference
    if not spec.trading_state.accepts_orders:
        # CancelOnly: leave; PreOpen: nothing should rest yet; Halted, Closed: nothing to do.
        if spec.trading_state.accepts_cancels:
            return Plan(anchor, requoted, (), tuple(resting), (), ())
        return Plan(anchor, requoted, tuple(resting), (), (), ())
    unmatched = list(resting)
    keep: list[Resting] = []
    wanted: list[Quote] = []
    for quote in desired_quotes(spec, params, anchor, position):
        match = next((order for order in unmatched if stands_for(order, quote)), None)
        if match is None:
            if requoted or (quote.side, quote.price) not in refused:
                wanted.append(quote)
        else:
            keep.append(match)
            unmatched.remove(match)
    cancel = tuple(unmatched)
    place = fit(spec, wanted, released(spec, cancel, funds))
    return Plan(anchor, requoted, tuple(keep), cancel, tuple(wanted), place)
