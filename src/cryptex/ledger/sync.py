"""`Ledger`: the ledger's scripts and reads over one synchronous Redis client (engines,
tools, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import redis
from redis.commands.core import Script

from cryptex import keys
from cryptex.ledger.audit import (
    AUDIT_ACCOUNT,
    READ_ATTEMPTS,
    AuditReport,
    account_problems,
    add_balances,
    audit_account_call,
    audit_account_result,
    conservation_problems,
    recount_problems,
)
from cryptex.ledger.batch import SettleBatch
from cryptex.ledger.cancel import CANCEL, CancelResult, cancel_call, cancel_result
from cryptex.ledger.lease import RELEASE_LEASE, RENEW_LEASE, release_lease_call, renew_lease_call
from cryptex.ledger.place import PLACE, PlaceResult, place_call, place_result
from cryptex.ledger.records import Balance, OrderRecord, balances_from, id_block
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.ledger.settle import SETTLE, StreamEntries, settle_call, settle_result
from cryptex.ledger.snapshots import (
    SNAPSHOT_COMMIT,
    SNAPSHOT_PART,
    SnapshotCommit,
    snapshot_commit_call,
    snapshot_part_call,
    snapshot_parts,
)
from cryptex.ledger.transfer import (
    TRANSFER,
    TransferResult,
    deposit_call,
    transfer_result,
    withdrawal_call,
)
from cryptex.markets import MarketSpec
from cryptex.wire import AmendOrder, CancelOrder, PlaceOrder, RejectReason

# Accounts read together by the audit: one pipeline of their open sets, then one of their
# scripts, each script short.
_AUDIT_CHUNK = 100
_SCRIPTS = (
    PLACE, CANCEL, TRANSFER, SETTLE, SNAPSHOT_PART, SNAPSHOT_COMMIT, RENEW_LEASE, RELEASE_LEASE,
    AUDIT_ACCOUNT,
)  # fmt: skip


class Ledger:
    """The ledger's scripts over one synchronous Redis client (engines, tools, tests)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Script] = {
            script.name: client.register_script(script.source) for script in _SCRIPTS
        }

    def _run(self, script: LuaScript, call: Call, client: redis.Redis | None = None) -> Any:
        return self._scripts[script.name](keys=call.keys, args=call.args, client=client)

    # -------------------------------------------------------------- trader side

    def place(self, market: MarketSpec, command: PlaceOrder) -> PlaceResult:
        """Lock the order's funds, record it and queue it, or refuse. The command's `locked`
        and fee fields are set here from the market: callers leave them at 0."""
        command, call = place_call(market, command)
        return place_result(command, self._run(PLACE, call))

    def request_cancel(
        self, order_id: int, account: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        return self._queue(CancelOrder(order_id, account, ts, reply_to))

    def request_amend(
        self, order_id: int, account: int, quantity: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        """Queue an amend of an open order of the account's to `quantity` lots (its new whole
        quantity); refused as a cancel would be."""
        return self._queue(AmendOrder(order_id, account, quantity, ts, reply_to))

    def _queue(self, command: CancelOrder | AmendOrder) -> CancelResult:
        market = self.redis.hget(keys.order(command.order_id), "market")
        if market is None:
            return CancelResult(False, RejectReason.UNKNOWN_ORDER)
        return cancel_result(self._run(CANCEL, cancel_call(market, command)))

    def allocate_order_ids(self, count: int) -> range:
        """A block of `count` fresh order ids, for an allocator that hands them out locally."""
        return id_block(int(self.redis.incrby(keys.ORDER_IDS, count)), count)

    # -------------------------------------------------------------- admin side

    def deposit(
        self, account: int, asset: str, units: int, reference: str, ts: int
    ) -> TransferResult:
        """Credit `units` to the account's available balance, once per `reference` (the
        transfer's unique id)."""
        call = deposit_call(account, asset, units, reference, ts)
        return transfer_result(self._run(TRANSFER, call))

    def withdraw(
        self, account: int, asset: str, units: int, reference: str, ts: int
    ) -> TransferResult:
        """Debit available funds (never locked ones), once per `reference`."""
        call = withdrawal_call(account, asset, units, reference, ts)
        return transfer_result(self._run(TRANSFER, call))

    # -------------------------------------------------------------- reads

    def balances(self, account: int) -> dict[str, Balance]:
        return balances_from(self.redis.hgetall(keys.balances(account)))

    def order(self, order_id: int) -> OrderRecord | None:
        fields = self.redis.hgetall(keys.order(order_id))
        return OrderRecord.from_fields(fields) if fields else None

    # -------------------------------------------------------------- engine side

    def renew_lease(self, symbol: str, holder: str, ttl_ms: int) -> bool:
        return bool(self._run(RENEW_LEASE, renew_lease_call(symbol, holder, ttl_ms)))

    def release_lease(self, symbol: str, holder: str) -> bool:
        return bool(self._run(RELEASE_LEASE, release_lease_call(symbol, holder)))

    def take_fence(self, symbol: str) -> int:
        return int(self.redis.incr(keys.fence(symbol)))

    def stage_snapshot_part(
        self, symbol: str, token: int, part: bytes | memoryview, *, first: bool
    ) -> bool:
        """Append one part of a snapshot being written (the first starts afresh); False, and
        nothing written, when the token is stale."""
        return bool(self._run(SNAPSHOT_PART, snapshot_part_call(symbol, token, part, first=first)))

    def commit_snapshot(
        self, symbol: str, token: int, parts: int, command_id: str
    ) -> SnapshotCommit:
        """Make the staged parts the stored snapshot, as of command `command_id`."""
        call = snapshot_commit_call(symbol, token, parts, command_id)
        return SnapshotCommit(int(self._run(SNAPSHOT_COMMIT, call)))

    def store_snapshot(
        self, symbol: str, token: int, state: bytes, command_id: str
    ) -> SnapshotCommit:
        """Write a whole snapshot now, part after part (Redis serves others in between)."""
        parts = snapshot_parts(state)
        for index, part in enumerate(parts):
            if not self.stage_snapshot_part(symbol, token, part, first=index == 0):
                return SnapshotCommit.STALE
        return self.commit_snapshot(symbol, token, len(parts), command_id)

    def settle(
        self,
        symbol: str,
        token: int,
        previous_command_id: str,
        last_command_id: str,
        batch: SettleBatch,
        events: bytes,
        depth: bytes = b"",
        ticker: bytes = b"",
        *,
        first_command_id: str,
        read_next: int = 0,
    ) -> StreamEntries:
        """Apply one engine batch atomically, exactly once: the batch follows the command
        `previous_command_id` ('' for the first) and ends with `last_command_id`; sent again
        after a lost reply it changes nothing. `first_command_id` is the batch's first command
        not settled before: no command may lie between it and `previous_command_id`. Then, in
        the same script, up to `read_next` new commands are delivered to the engine's consumer
        (as XREADGROUP would) and returned."""
        call = settle_call(
            symbol, token, previous_command_id, last_command_id, batch, events, depth, ticker,
            first_command_id=first_command_id, read_next=read_next,
        )  # fmt: skip
        return settle_result(symbol, token, self._run(SETTLE, call))

    # -------------------------------------------------------------- audit

    def audit(self) -> AuditReport:
        """Check conservation at one instant, then every account alone (see
        `cryptex.ledger.audit`); safe while trading goes on."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.LEDGER_VERSION)
            pipe.hgetall(keys.TOTALS)
            pipe.hgetall(keys.HELD)
            version, totals, held = pipe.execute()
        report = AuditReport(totals=_units(totals), held=_units(held))
        report.problems += conservation_problems(report.totals, report.held)
        accounts = {keys.FEE_ACCOUNT, *(int(a) for a in self.redis.sscan_iter(keys.ACCOUNTS))}
        report.accounts = len(accounts)
        recounted: dict[str, int] = {}
        unread = sorted(accounts)
        for _ in range(READ_ATTEMPTS):
            unread = [
                account
                for start in range(0, len(unread), _AUDIT_CHUNK)
                for account in self._audit_accounts(
                    unread[start : start + _AUDIT_CHUNK], report, recounted
                )
            ]
            if not unread:
                break
        report.problems += [
            f"account {account}: its open orders changed during each of {READ_ATTEMPTS} reads"
            for account in unread
        ]
        if self.redis.get(keys.LEDGER_VERSION) == version:  # the pass saw one instant
            report.recounted = recounted
            report.problems += recount_problems(report.held, recounted)
        return report

    def _audit_accounts(
        self, accounts: list[int], report: AuditReport, recounted: dict[str, int]
    ) -> Iterator[int]:
        """Read and check these accounts, adding their balances to `recounted`; yields those
        that changed while being read."""
        with self.redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.smembers(keys.open_orders(account))
            listed: list[list[bytes]] = [sorted(ids) for ids in pipe.execute()]
        with self.redis.pipeline(transaction=False) as pipe:
            for account, order_ids in zip(accounts, listed, strict=True):
                self._run(AUDIT_ACCOUNT, audit_account_call(account, order_ids), cast(Any, pipe))
            replies = pipe.execute()
        for account, order_ids, reply in zip(accounts, listed, replies, strict=True):
            view = audit_account_result(order_ids, reply)
            if view is None:
                yield account
            else:
                report.problems += account_problems(account, view)
                add_balances(view, recounted)


def _units(mapping: dict[bytes, bytes]) -> dict[str, int]:
    return {key.decode(): int(value) for key, value in mapping.items()}
