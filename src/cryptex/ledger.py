"""The ledger: balances and order records in Redis, changed only by the Lua scripts beside this
module (`lua/`), each atomic.

- place: idempotent on (account, clientOrderId); locks funds, records the order, queues it.
- cancel: refuses an order that is not the caller's or not open; queues the cancel.
- settle: applies one engine batch (fills, fees, releases, records, events, market data,
  acknowledgements) under the engine's fencing token, all or nothing.
- transfer: deposits and withdrawals (from available only), journalled.
- audit: conservation per asset, no negative balance, locks equal to what open orders hold.

Amounts cross into Lua as decimal strings of integers and are only added there (HINCRBY, exact
in 64 bits); the comparisons Lua makes are exact because no amount exceeds 2^53
(`cryptex.money.MAX_UNITS`). This module never computes a fill: the engine does, in Python.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from importlib import resources
from typing import Any, Final, cast

import msgspec
import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import CancelOrder, OrderStatus, PlaceOrder, Side, encode

# How long a client order id stays reserved after its order was placed.
CLIENT_ORDER_ID_TTL_S: Final = 7 * 24 * 3600


def _script(name: str) -> str:
    return resources.files("cryptex").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def connect(url: str) -> redis.Redis:
    """A client for the ledger and the engines, with redis-py's automatic retries off: a
    command re-sent after a lost reply must be the caller's decision (the scripts are
    idempotent, but a re-sent XREADGROUP would silently skip the entries it had delivered)."""
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0))


def connect_async(url: str, max_connections: int = 64, wait_s: float = 5.0) -> redis.asyncio.Redis:
    """`connect()` for asyncio services. Connections are bounded, and a request that finds them
    all busy waits up to `wait_s` for one (a plain pool fails at once: a burst of requests
    would get errors where a short queue does)."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, retry=AsyncRetry(NoBackoff(), 0)
    )
    return redis.asyncio.Redis.from_pool(pool)  # closing the client closes its pool


# A stored engine snapshot is a list of parts of at most this size, each one write to Redis. With
# `appendfsync always`, an APPEND of 64 KiB took 0.4 ms (median; 1 MiB: 3.3 ms, up to 25). While
# a million resting orders (36 MiB) were written in one SET, a PING waited up to 173-178 ms (and
# every market with it); written in parts, up to 2.5-5.5 ms.
SNAPSHOT_PART_BYTES: Final = 64 * 1024


class SnapshotCommit(IntEnum):
    """What the commit of a staged snapshot did."""

    STORED = 1
    STALE = 0  # another engine took the market over: nothing changed
    INCOMPLETE = -1  # a part was lost or staged twice (a retried write): nothing changed


def snapshot_parts(state: bytes) -> list[memoryview]:
    """An encoded snapshot cut into the parts it is stored as (at least one)."""
    view = memoryview(state)
    return [
        view[at : at + SNAPSHOT_PART_BYTES] for at in range(0, len(state), SNAPSHOT_PART_BYTES)
    ] or [view]


def read_snapshot(client: redis.Redis, symbol: str) -> bytes | None:
    """The market's stored engine snapshot (encoded), or None. One read: the parts of one
    snapshot, never a mix of two."""
    try:
        parts = cast(list[bytes], client.lrange(keys.snapshot(symbol), 0, -1))
    except redis.ResponseError as error:
        if "WRONGTYPE" not in str(error):
            raise
        # One value: written by an engine from before snapshots were stored in parts.
        return cast(bytes | None, client.get(keys.snapshot(symbol)))
    return b"".join(parts) if parts else None


def snapshot_command_id(client: redis.Redis, symbol: str) -> str | None:
    """Id of the last command the stored snapshot reflects, without reading the snapshot."""
    raw = cast(bytes | None, client.get(keys.snapshot_command(symbol)))
    return raw.decode() if raw is not None else None


class LedgerError(RuntimeError):
    """The ledger refused a write that the engine computed: a broken invariant, never a
    business outcome."""


class StaleFenceError(LedgerError):
    """Another engine instance has taken the market over: this one must stop."""


class CommandGapError(LedgerError):
    """Commands between the last settled one and the batch went to another reader: the engine
    must rebuild its state and read them (they are pending) before going on."""


# ------------------------------------------------------------------ order records


class OrderRecord(msgspec.Struct, kw_only=True):
    """An order as the ledger keeps it (Redis hash `keys.order(id)`). The Lua scripts read the
    fields `account`, `status`, `lock_asset` and `locked`."""

    order_id: int
    market: str
    account: int
    side: Side
    order_type: str
    time_in_force: str
    price: int  # ticks (the protection price of a market order)
    quantity: int  # lots
    executed: int = 0  # lots
    executed_quote: int = 0  # quote units paid or received, before fees
    status: OrderStatus = OrderStatus.NEW
    lock_asset: str
    locked: int  # units still locked
    client_order_id: str = ""
    created: int  # epoch ms
    updated: int  # epoch ms
    reason: str = ""  # why it was rejected or expired

    def to_fields(self) -> list[str]:
        """Field/value pairs, all strings, as HSET takes them."""
        pairs: list[str] = []
        for name in self.__struct_fields__:
            pairs += (name, str(getattr(self, name)))
        return pairs

    @classmethod
    def from_fields(cls, fields: Mapping[bytes | str, bytes | str]) -> OrderRecord:
        values = {as_text(k): as_text(v) for k, v in fields.items()}
        return msgspec.convert(values, cls, strict=False)


def order_record_for(command: PlaceOrder, market: MarketSpec, lock_asset: str) -> OrderRecord:
    return OrderRecord(
        order_id=command.order_id,
        market=market.symbol,
        account=command.account,
        side=command.side,
        order_type=command.order_type.value,
        time_in_force=command.time_in_force.value,
        price=command.protection_price or command.price,
        quantity=command.quantity,
        lock_asset=lock_asset,
        locked=command.locked,
        client_order_id=command.client_order_id,
        created=command.ts,
        updated=command.ts,
    )


# ------------------------------------------------------------------ results


class PlaceOutcome(IntEnum):
    PLACED = 1
    DUPLICATE = 0  # the client order id was used before: `order_id` is that first order
    INSUFFICIENT_FUNDS = -1


@dataclass(frozen=True, slots=True)
class PlaceResult:
    outcome: PlaceOutcome
    order_id: int
    command: PlaceOrder | None = None  # as queued, with its lock and fees


# Stream entries as XREADGROUP gives them: (entry id, {field: value}).
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


def _stream_entries(reply: Any) -> StreamEntries:
    """A script's XREADGROUP answer ([[stream, [[id, [field, value, ...]], ...]]], or nil) as
    redis-py's xreadgroup would parse it."""
    if not reply:
        return []
    return [
        (entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in reply[0][1]
    ]


@dataclass(frozen=True, slots=True)
class CancelResult:
    accepted: bool
    reason: str = ""  # UNKNOWN_ORDER, NOT_ORDER_OWNER or ORDER_NOT_OPEN when refused


@dataclass(frozen=True, slots=True)
class Balance:
    available: int
    locked: int


@dataclass
class AuditReport:
    totals: dict[str, int] = field(default_factory=dict)  # asset -> deposits minus withdrawals
    held: dict[str, int] = field(default_factory=dict)  # asset -> sum over every account
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------ settlement batches


class SettleBatch:
    """Everything one engine batch changes, in the argument layout of settle.lua.

    Balance moves are summed per (account, field) so each appears once and the script can check
    that none ends negative before it writes anything."""

    def __init__(self) -> None:
        self.acks: list[str] = []
        self._moves: dict[tuple[int, str], int] = {}
        self._records: dict[int, dict[str, str]] = {}
        self._open: dict[tuple[int, int], bool] = {}  # (account, order id) -> add or remove
        self.publishes: list[tuple[str, bytes]] = []
        self.trades: list[bytes] = []

    def move(self, account: int, field: str, delta: int) -> None:
        if delta:
            key = (account, field)
            self._moves[key] = self._moves.get(key, 0) + delta

    def update_order(self, order_id: int, **fields: object) -> None:
        record = self._records.setdefault(order_id, {})
        for name, value in fields.items():
            record[name] = str(value)

    def open_order(self, account: int, order_id: int, is_open: bool) -> None:
        self._open[(account, order_id)] = is_open

    def publish(self, channel: str, message: bytes) -> None:
        self.publishes.append((channel, message))

    def script_args(self, first_key: int) -> tuple[list[str], list[Any]]:
        """(extra keys, the batch's arguments as settle.lua reads them); key indexes count
        from `first_key` (1-based). Amounts and ids travel as decimal text: Lua numbers are
        doubles, and a large one would reach HINCRBY in exponent form."""
        extra_keys: list[str] = []
        index: dict[str, int] = {}

        def key_index(key: str) -> int:
            if key not in index:
                index[key] = first_key + len(extra_keys)
                extra_keys.append(key)
            return index[key]

        moves = [
            [key_index(keys.balances(account)), field_name, str(delta)]
            for (account, field_name), delta in self._moves.items()
            if delta
        ]
        records = [
            [key_index(keys.order(order_id)), [part for pair in fields.items() for part in pair]]
            for order_id, fields in self._records.items()
        ]
        open_sets = [
            [key_index(keys.open_orders(account)), 1 if is_open else 0, str(order_id)]
            for (account, order_id), is_open in self._open.items()
        ]
        args: list[Any] = [encode([self.acks, moves, records, open_sets]), len(self.publishes)]
        for channel, message in self.publishes:
            args += (channel, message)
        args.append(len(self.trades))
        args += self.trades
        return extra_keys, args


# ------------------------------------------------------------------ script calls
# Each operation's keys and arguments, and the reading of its reply, written once for both the
# synchronous `Ledger` (engines, tools) and the `AsyncLedger` (the API).


@dataclass(frozen=True, slots=True)
class _Call:
    keys: list[str]
    args: list[Any]


def _place_call(market: MarketSpec, command: PlaceOrder) -> tuple[PlaceOrder, _Call]:
    if command.side is Side.BUY:
        asset = market.quote.symbol
        locked = market.buy_lock(command.protection_price or command.price, command.quantity)
    else:
        asset = market.base.symbol
        locked = market.sell_lock(command.quantity)
    command = msgspec.structs.replace(
        command,
        locked=locked,
        maker_fee_bps=market.maker_fee_bps,
        taker_fee_bps=market.taker_fee_bps,
    )
    record = order_record_for(command, market, asset)
    script_keys = [
        keys.balances(command.account),
        keys.order(command.order_id),
        keys.open_orders(command.account),
        keys.commands(market.symbol),
    ]
    if command.client_order_id:
        script_keys.append(keys.client_order(command.account, command.client_order_id))
    args = [
        command.order_id, asset, keys.locked_field(asset), locked, encode(command),
        CLIENT_ORDER_ID_TTL_S, msgspec.msgpack.encode(record.to_fields()),
    ]  # fmt: skip
    return command, _Call(script_keys, args)


def _place_result(command: PlaceOrder, reply: list[Any]) -> PlaceResult:
    outcome = PlaceOutcome(int(reply[0]))
    if outcome is PlaceOutcome.PLACED:
        return PlaceResult(outcome, command.order_id, command)
    if outcome is PlaceOutcome.DUPLICATE:
        return PlaceResult(outcome, int(reply[1]))
    return PlaceResult(outcome, command.order_id)


def _cancel_call(market: bytes | str, command: CancelOrder) -> _Call:
    return _Call(
        [keys.order(command.order_id), keys.commands(as_text(market))],
        [command.account, encode(command)],
    )


def _cancel_result(reply: list[Any]) -> CancelResult:
    return CancelResult(True) if int(reply[0]) == 1 else CancelResult(False, as_text(reply[1]))


def _transfer_call(account: int, asset: str, units: int, reference: str, ts: int) -> _Call:
    if not reference:
        raise ValueError("a transfer needs a reference, its unique id")
    return _Call(
        [
            keys.balances(account),
            keys.TOTALS,
            keys.ACCOUNTS,
            keys.JOURNAL,
            keys.transfer(reference),
        ],
        [account, asset, units, reference, ts],
    )


def _transfer_result(reply: list[Any]) -> int | None:
    """Available units after the transfer; None if a withdrawal found too little."""
    return None if int(reply[0]) == -1 else int(reply[1])


def _positive(units: int) -> int:
    if units <= 0:
        raise ValueError("a deposit or withdrawal must be positive")
    return units


def _balances_from(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Balance]:
    values = {as_text(k): int(v) for k, v in raw.items()}
    assets = {name.split(":", 1)[0] for name in values}
    return {
        asset: Balance(values.get(asset, 0), values.get(keys.locked_field(asset), 0))
        for asset in sorted(assets)
    }


def _id_block(last: int, count: int) -> range:
    return range(last - count + 1, last + 1)


# ------------------------------------------------------------------ the ledger


class Ledger:
    """The ledger's scripts over one synchronous Redis client (engines, tools, tests)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._place = client.register_script(_script("place"))
        self._cancel = client.register_script(_script("cancel"))
        self._transfer = client.register_script(_script("transfer"))
        self._settle = client.register_script(_script("settle"))
        self._snapshot_part = client.register_script(_script("snapshot_part"))
        self._snapshot_commit = client.register_script(_script("snapshot_commit"))
        self._renew_lease = client.register_script(_script("renew_lease"))
        self._release_lease = client.register_script(_script("release_lease"))
        self._audit = client.register_script(_script("audit"))

    # -------------------------------------------------------------- trader side

    def place(self, market: MarketSpec, command: PlaceOrder) -> PlaceResult:
        """Lock the order's funds, record it and queue it, or refuse. The command's `locked`
        and fee fields are set here from the market: callers leave them at 0."""
        command, call = _place_call(market, command)
        return _place_result(command, self._place(keys=call.keys, args=call.args))

    def request_cancel(
        self, order_id: int, account: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        market = self.redis.hget(keys.order(order_id), "market")
        if market is None:
            return CancelResult(False, "UNKNOWN_ORDER")
        call = _cancel_call(market, CancelOrder(order_id, account, ts, reply_to))
        return _cancel_result(self._cancel(keys=call.keys, args=call.args))

    def allocate_order_ids(self, count: int) -> range:
        """A block of `count` fresh order ids, for an allocator that hands them out locally."""
        return _id_block(int(self.redis.incrby(keys.ORDER_IDS, count)), count)

    # -------------------------------------------------------------- admin side

    def deposit(self, account: int, asset: str, units: int, reference: str, ts: int) -> int:
        """Credit `units` to the account's available balance once per `reference` (a unique id
        of the transfer); returns the available balance afterwards."""
        call = _transfer_call(account, asset, _positive(units), reference, ts)
        after = _transfer_result(self._transfer(keys=call.keys, args=call.args))
        assert after is not None  # a deposit is never short
        return after

    def withdraw(self, account: int, asset: str, units: int, reference: str, ts: int) -> int | None:
        """Debit from available funds; None (and nothing changed) if they are short."""
        call = _transfer_call(account, asset, -_positive(units), reference, ts)
        return _transfer_result(self._transfer(keys=call.keys, args=call.args))

    # -------------------------------------------------------------- reads

    def balances(self, account: int) -> dict[str, Balance]:
        return _balances_from(self.redis.hgetall(keys.balances(account)))

    def order(self, order_id: int) -> OrderRecord | None:
        fields = self.redis.hgetall(keys.order(order_id))
        return OrderRecord.from_fields(fields) if fields else None

    # -------------------------------------------------------------- engine side

    def renew_lease(self, symbol: str, holder: str, ttl_ms: int) -> bool:
        return bool(self._renew_lease(keys=[keys.lease(symbol)], args=[holder, ttl_ms]))

    def release_lease(self, symbol: str, holder: str) -> bool:
        return bool(self._release_lease(keys=[keys.lease(symbol)], args=[holder]))

    def take_fence(self, symbol: str) -> int:
        return int(self.redis.incr(keys.fence(symbol)))

    def stage_snapshot_part(
        self, symbol: str, token: int, part: bytes | memoryview, *, first: bool
    ) -> bool:
        """Append one part of a snapshot being written (the first starts afresh); False, and
        nothing written, when the token is stale."""
        staged = self._snapshot_part(
            keys=[keys.fence(symbol), keys.snapshot_staging(symbol)], args=[token, int(first), part]
        )
        return bool(staged)

    def commit_snapshot(
        self, symbol: str, token: int, parts: int, command_id: str
    ) -> SnapshotCommit:
        """Make the staged parts the stored snapshot, as of command `command_id`."""
        committed = self._snapshot_commit(
            keys=[keys.fence(symbol), keys.snapshot_staging(symbol), keys.snapshot(symbol),
                  keys.snapshot_command(symbol)],
            args=[token, parts, command_id],
        )  # fmt: skip
        return SnapshotCommit(int(committed))

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
        fixed_keys = [
            keys.fence(symbol),
            keys.applied(symbol),
            keys.events(symbol),
            keys.commands(symbol),
            keys.depth(symbol),
            keys.ticker(symbol),
            keys.recent_trades(symbol),
        ]
        extra_keys, sections = batch.script_args(len(fixed_keys) + 1)
        reply = self._settle(
            keys=fixed_keys + extra_keys,
            args=[
                token, last_command_id, keys.COMMANDS_GROUP, events, depth, ticker,
                previous_command_id, sections[0], read_next, keys.ENGINE_CONSUMER,
                first_command_id, *sections[1:],
            ],
        )  # fmt: skip
        status = int(reply[0])
        if status in (1, 2):  # 2: settled already, a retry after a lost reply
            return _stream_entries(reply[1])
        detail = [as_text(part) for part in reply[1:]]
        if status == -1:
            raise StaleFenceError(f"{symbol}: fencing token {token} is stale ({detail})")
        if status == -4:
            raise CommandGapError(f"{symbol}: command {detail[1]} was read by another engine")
        raise LedgerError(f"{symbol}: settlement refused: {detail}")

    # -------------------------------------------------------------- audit

    def audit(self) -> AuditReport:
        """Check conservation, signs and locks over one consistent view of the ledger."""
        raw = self._audit(
            keys=[keys.ACCOUNTS, keys.TOTALS],
            args=[keys.balances("%s"), keys.open_orders("%s"), keys.order("%s")],
        )
        report = AuditReport(totals=_pairs(raw[0]))
        for account_raw, balance_pairs, orders in raw[1:]:
            account = int(account_raw)
            balances = _pairs(balance_pairs)
            held_by_orders: dict[str, int] = {}
            for order_id, asset, locked, status in orders:
                if status.decode() not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
                    report.problems.append(
                        f"account {account}: order {order_id.decode()} is listed open but is "
                        f"{status.decode() or 'missing'}"
                    )
                asset_name = asset.decode()
                held_by_orders[asset_name] = held_by_orders.get(asset_name, 0) + int(locked)
            for name, units in balances.items():
                if units < 0:
                    report.problems.append(f"account {account}: {name} is negative ({units})")
                asset_name = name.split(":", 1)[0]
                report.held[asset_name] = report.held.get(asset_name, 0) + units
            for asset_name in set(held_by_orders) | {
                n.split(":", 1)[0] for n in balances if n.endswith(":locked")
            }:
                locked_balance = balances.get(keys.locked_field(asset_name), 0)
                if locked_balance != held_by_orders.get(asset_name, 0):
                    report.problems.append(
                        f"account {account}: {asset_name} locked {locked_balance} but its open "
                        f"orders hold {held_by_orders.get(asset_name, 0)}"
                    )
        for asset_name in set(report.totals) | set(report.held):
            if report.totals.get(asset_name, 0) != report.held.get(asset_name, 0):
                report.problems.append(
                    f"{asset_name}: accounts hold {report.held.get(asset_name, 0)} but deposits "
                    f"minus withdrawals are {report.totals.get(asset_name, 0)}"
                )
        return report


class _ScriptBatcher:
    """Calls of one script made in the same event-loop turn go to Redis as one pipeline: one
    connection from the pool, one write, and Redis runs them in one pass of its event loop, so
    under `appendfsync always` they share one fsync of the AOF instead of taking one each.

    Each turn's batch is sent by a task of its own: a caller that is cancelled while it waits
    abandons only its own answer, never the batch. Every call is answered: with its reply, or
    with the error the batch met (a lost connection fails the whole batch)."""

    def __init__(self, client: redis.asyncio.Redis, source: str) -> None:
        self._client = client
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()  # what SCRIPT LOAD answers
        self._waiting: list[tuple[_Call, asyncio.Future[Any]]] = []
        self._senders: set[asyncio.Task[None]] = set()  # held so none is collected mid-send

    async def __call__(self, call: _Call) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((call, future))
        if len(self._waiting) == 1:  # the first of this turn: the rest join until it starts
            sender = loop.create_task(self._send())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await future

    async def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            replies = await self._evalsha([call for call, _ in batch])
            unknown = [i for i, reply in enumerate(replies) if _is_noscript(reply)]
            if unknown:  # Redis restarted or flushed its scripts: load once, send those again
                await self._client.script_load(self._source)
                resent = await self._evalsha([batch[i][0] for i in unknown])
                for i, reply in zip(unknown, resent, strict=True):
                    replies[i] = reply
        except Exception as error:  # the connection failed: nobody's answer is known
            replies = [error] * len(batch)
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _evalsha(self, calls: list[_Call]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command("EVALSHA", self._sha, len(call.keys), *call.keys, *call.args)
            return list(await pipe.execute(raise_on_error=False))


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, redis.exceptions.NoScriptError)


class AsyncLedger:
    """The trader and admin side of the ledger over one asyncio Redis client (the API)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.redis = client
        self._place = _ScriptBatcher(client, _script("place"))
        self._cancel = client.register_script(_script("cancel"))
        self._transfer = client.register_script(_script("transfer"))

    async def place(self, market: MarketSpec, command: PlaceOrder) -> PlaceResult:
        command, call = _place_call(market, command)
        return _place_result(command, await self._place(call))

    async def request_cancel(
        self, order_id: int, account: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        market = await self.redis.hget(keys.order(order_id), "market")
        if market is None:
            return CancelResult(False, "UNKNOWN_ORDER")
        call = _cancel_call(market, CancelOrder(order_id, account, ts, reply_to))
        return _cancel_result(await self._cancel(keys=call.keys, args=call.args))

    async def allocate_order_ids(self, count: int) -> range:
        return _id_block(int(await self.redis.incrby(keys.ORDER_IDS, count)), count)

    async def deposit(self, account: int, asset: str, units: int, reference: str, ts: int) -> int:
        call = _transfer_call(account, asset, _positive(units), reference, ts)
        after = _transfer_result(await self._transfer(keys=call.keys, args=call.args))
        assert after is not None  # a deposit is never short
        return after

    async def withdraw(
        self, account: int, asset: str, units: int, reference: str, ts: int
    ) -> int | None:
        call = _transfer_call(account, asset, -_positive(units), reference, ts)
        return _transfer_result(await self._transfer(keys=call.keys, args=call.args))

    async def balances(self, account: int) -> dict[str, Balance]:
        return _balances_from(await self.redis.hgetall(keys.balances(account)))

    async def order(self, order_id: int) -> OrderRecord | None:
        fields = await self.redis.hgetall(keys.order(order_id))
        return OrderRecord.from_fields(fields) if fields else None

    async def open_orders(self, account: int) -> list[OrderRecord]:
        """The account's open orders, oldest first."""
        ids = sorted(int(i) for i in await self.redis.smembers(keys.open_orders(account)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for order_id in ids:
                pipe.hgetall(keys.order(order_id))
            rows = await pipe.execute()
        return [OrderRecord.from_fields(row) for row in rows if row]


def _pairs(flat: list[bytes]) -> dict[str, int]:
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def as_text(value: bytes | str) -> str:
    """A Redis reply's string, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def stream_id(text: str) -> tuple[int, int]:
    """A stream id `ms-seq` as a comparable pair ('' sorts before every id)."""
    if not text:
        return (-1, -1)
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0))
