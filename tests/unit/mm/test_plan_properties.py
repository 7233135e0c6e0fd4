"""Properties of the plan over random markets, parameters, positions, funds and open orders:
cancels and keeps split the open orders, every placed quote passes the market's filters and
is funded, the bot's own quotes never cross, and a plan carried out and planned again is idle."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from cryptex.markets import MarketSpec, load_manifests
from cryptex.wire import Side
from cryptex_mm.quoting import (
    SUBTICKS,
    Funds,
    Plan,
    Position,
    QuoteParams,
    Resting,
    desired_quotes,
    lock,
    passes,
    plan,
    released,
)
from tests.unit.mm.conftest import EXAMPLES

MARKETS = list(load_manifests(EXAMPLES).values())


@dataclass(frozen=True)
class Case:
    spec: MarketSpec
    params: QuoteParams
    reference: int
    anchor: int | None
    position: Position
    funds: Funds
    resting: list[Resting]

    def plan(self) -> Plan:
        return plan(
            self.spec, self.params, reference=self.reference, anchor=self.anchor,
            position=self.position, funds=self.funds, resting=self.resting,
        )  # fmt: skip


@st.composite
def cases(draw: st.DrawFn) -> Case:
    spec = draw(st.sampled_from(MARKETS))
    params = QuoteParams(
        levels=draw(st.integers(1, 5)), spread_bps=draw(st.integers(0, 300)),
        step_bps=draw(st.integers(0, 100)), size=draw(st.integers(1, 5_000)),
        skew_bps=draw(st.integers(0, 9_999)), inventory_limit=draw(st.integers(0, 10**10)),
        requote_bps=draw(st.integers(0, 200)),
    )  # fmt: skip
    reference = draw(st.integers(SUBTICKS, 10**6 * SUBTICKS))
    anchor = draw(st.none() | st.integers(reference * 98 // 100, reference * 102 // 100))
    position = Position(
        base=draw(st.integers(0, 10**11)), quote=draw(st.integers(0, 10**12)),
        target=draw(st.none() | st.integers(0, 10**11)),
    )  # fmt: skip
    funds = Funds(base=draw(st.integers(0, 10**11)), quote=draw(st.integers(0, 10**12)))
    # Open orders: some where the quotes are (part filled or not), some strays.
    quotes = desired_quotes(spec, params, anchor or reference, position)
    resting: list[Resting] = []
    for quote in draw(st.lists(st.sampled_from(quotes), max_size=8)) if quotes else []:
        executed = draw(st.integers(0, quote.quantity - 1))
        resting.append(Resting(len(resting) + 1, quote.side, quote.price, quote.quantity, executed))
    ticks = max(1, reference // SUBTICKS)
    for _ in range(draw(st.integers(0, 4))):
        side = draw(st.sampled_from(Side))
        price = draw(st.integers(max(1, ticks * 9 // 10), ticks * 11 // 10 + 1))
        resting.append(Resting(len(resting) + 1, side, price, draw(st.integers(1, 5_000))))
    return Case(spec, params, reference, anchor, position, funds, resting)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_keeps_and_cancels_split_the_open_orders(case: Case) -> None:
    result = case.plan()
    ids = sorted(o.order_id for o in (*result.keep, *result.cancel))
    assert ids == sorted(o.order_id for o in case.resting)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_placed_quotes_pass_the_filters_and_are_funded(case: Case) -> None:
    result = case.plan()
    funds = released(case.spec, result.cancel, case.funds)
    spent = {Side.BUY: 0, Side.SELL: 0}
    for quote in result.place:
        assert quote.price >= 1
        assert passes(case.spec, quote.price, quote.quantity)
        spent[quote.side] += lock(case.spec, quote.side, quote.price, quote.quantity)
    assert spent[Side.BUY] <= funds.quote
    assert spent[Side.SELL] <= funds.base


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_bots_quotes_never_cross(case: Case) -> None:
    result = case.plan()
    bids = [o.price for o in result.keep if o.side is Side.BUY]
    bids += [q.price for q in result.place if q.side is Side.BUY]
    asks = [o.price for o in result.keep if o.side is Side.SELL]
    asks += [q.price for q in result.place if q.side is Side.SELL]
    if bids and asks:
        assert max(bids) < min(asks)
    desired = desired_quotes(case.spec, case.params, result.anchor, case.position)
    for side, step in ((Side.BUY, -1), (Side.SELL, 1)):
        prices = [q.price for q in desired if q.side is side]
        assert all((b - a) * step > 0 for a, b in itertools.pairwise(prices))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_a_plan_carried_out_then_planned_again_is_idle(case: Case) -> None:
    result = case.plan()
    funds = released(case.spec, result.cancel, case.funds)
    after = list(result.keep)
    base, quote = funds.base, funds.quote
    for number, placed in enumerate(result.place, start=1_000):
        after.append(Resting(number, placed.side, placed.price, placed.quantity))
        spent = lock(case.spec, placed.side, placed.price, placed.quantity)
        if placed.side is Side.BUY:
            quote -= spent
        else:
            base -= spent
    again = plan(
        case.spec, case.params, reference=case.reference, anchor=result.anchor,
        position=case.position, funds=Funds(base, quote), resting=after,
    )  # fmt: skip
    assert again.idle, again
    assert not again.requoted
    assert again.anchor == result.anchor


@settings(max_examples=100, deadline=None)
@given(cases())
def test_with_nothing_open_and_funds_to_spare_every_quote_is_placed(case: Case) -> None:
    rich = Funds(10**15, 10**15)
    result = plan(
        case.spec, case.params, reference=case.reference, anchor=case.anchor,
        position=case.position, funds=rich, resting=[],
    )  # fmt: skip
    assert result.place == result.wanted
    assert list(result.place) == desired_quotes(
        case.spec, case.params, result.anchor, case.position
    )
