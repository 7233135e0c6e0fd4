"""The audit's contract and its findings. Pure: what to read, and what is wrong in what was
read; `Ledger.audit` does the reading.

Conservation is checked at one instant while trading goes on: every script that moves a
balance keeps `keys.HELD` (per asset, what all accounts hold, available and locked, the fee
account included) in the same atomic step, and the transfer script keeps `keys.TOTALS`
(deposits minus withdrawals) beside it; both are read in one transaction. A batch that created
or destroyed money would part them. Each account is then read alone, in one short script:
no balance negative, its locks equal to what its open orders hold, its open-order counts
equal to its open orders per market. When no script moved a balance during that pass
(`keys.LEDGER_VERSION` unchanged), the pass saw one instant, and the balances read are summed
and compared with the running totals too: that catches a write that went around the scripts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.redis_replies import as_text
from cryptex.wire import OrderStatus

# Reads of an account whose open orders change under each of them, before it is reported.
READ_ATTEMPTS: Final = 5


class AuditKeys(NamedTuple):
    balances: str
    open_orders: str
    open_counts: str


class AuditArgs(NamedTuple):
    order_count: int  # the open order ids listed after it, whose records follow the keys


AUDIT_ACCOUNT: Final = LuaScript("audit", AuditKeys, AuditArgs)


@dataclass
class AuditReport:
    totals: dict[str, int] = field(default_factory=dict)  # asset -> deposits minus withdrawals
    held: dict[str, int] = field(default_factory=dict)  # asset -> held by every account
    accounts: int = 0  # how many accounts were read
    # The accounts' balances summed (asset -> units), when the pass saw one instant; else None.
    recounted: dict[str, int] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class OpenOrder(NamedTuple):
    order_id: str
    market: str
    lock_asset: str
    locked: int
    status: str


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account as one script read it."""

    balances: dict[str, int]  # balances hash field -> units
    open_counts: dict[str, int]  # market -> count
    open_orders: list[OpenOrder]


def units_by_name(pairs: Sequence[bytes | str]) -> dict[str, int]:
    """A hash's field/value list (HGETALL) with integer values."""
    return {as_text(pairs[i]): int(pairs[i + 1]) for i in range(0, len(pairs), 2)}


def audit_account_call(account: int, order_ids: Sequence[bytes | str]) -> Call:
    ids = [as_text(order_id) for order_id in order_ids]
    return AUDIT_ACCOUNT.call(
        AuditKeys(
            balances=keys.balances(account),
            open_orders=keys.open_orders(account),
            open_counts=keys.open_order_counts(account),
        ),
        AuditArgs(order_count=len(ids)),
        [keys.order(order_id) for order_id in ids],
        ids,
    )


def audit_account_result(order_ids: Sequence[bytes | str], reply: list[Any]) -> AccountView | None:
    """What the script read; None if the account's open orders changed before it ran."""
    if int(reply[0]) == 0:
        return None
    _, balances, counts, orders = reply
    return AccountView(
        units_by_name(balances),
        units_by_name(counts),
        [
            OpenOrder(
                as_text(order_id), as_text(market), as_text(asset), int(locked), as_text(status)
            )
            for order_id, (market, asset, locked, status) in zip(order_ids, orders, strict=True)
        ],
    )


def conservation_problems(totals: Mapping[str, int], held: Mapping[str, int]) -> list[str]:
    return [
        f"{asset}: accounts hold {held.get(asset, 0)} but deposits minus withdrawals are "
        f"{totals.get(asset, 0)}"
        for asset in sorted(set(totals) | set(held))
        if totals.get(asset, 0) != held.get(asset, 0)
    ]


def recount_problems(held: Mapping[str, int], recounted: Mapping[str, int]) -> list[str]:
    return [
        f"{asset}: the accounts hold {recounted.get(asset, 0)} but the running total is "
        f"{held.get(asset, 0)}"
        for asset in sorted(set(held) | set(recounted))
        if held.get(asset, 0) != recounted.get(asset, 0)
    ]


def add_balances(view: AccountView, sums: dict[str, int]) -> None:
    """Add the account's available and locked units to `sums`, per asset."""
    for name, units in view.balances.items():
        asset = keys.asset_of_field(name)
        sums[asset] = sums.get(asset, 0) + units


def account_problems(account: int, view: AccountView) -> list[str]:
    problems = [
        f"account {account}: {name} is negative ({units})"
        for name, units in sorted(view.balances.items())
        if units < 0
    ]
    held_by_orders: Counter[str] = Counter()
    open_per_market: Counter[str] = Counter()
    for order in view.open_orders:
        if order.status not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            problems.append(
                f"account {account}: order {order.order_id} is listed open but is "
                f"{order.status or 'missing'}"
            )
        held_by_orders[order.lock_asset] += order.locked
        open_per_market[order.market] += 1
    locked_assets = {
        keys.asset_of_field(name) for name in view.balances if name != keys.asset_of_field(name)
    }
    for asset in sorted(locked_assets | set(held_by_orders)):
        locked = view.balances.get(keys.locked_field(asset), 0)
        if locked != held_by_orders[asset]:
            problems.append(
                f"account {account}: {asset} locked {locked} but its open orders hold "
                f"{held_by_orders[asset]}"
            )
    problems += [
        f"account {account}: counts {view.open_counts.get(market, 0)} open orders in {market} "
        f"but has {open_per_market[market]}"
        for market in sorted(set(view.open_counts) | set(open_per_market))
        if view.open_counts.get(market, 0) != open_per_market[market]
    ]
    return problems
