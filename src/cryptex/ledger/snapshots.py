"""Engine snapshots in Redis: stored as parts, written under the engine's fencing token, and
read back whole. The part and commit scripts' contracts live here, with the reads."""

from __future__ import annotations

from enum import IntEnum
from typing import Final, NamedTuple, cast

import redis

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript

# A stored engine snapshot is a list of parts of at most this size, each one write to Redis. With
# `appendfsync always`, an APPEND of 64 KiB took 0.4 ms (median; 1 MiB: 3.3 ms, up to 25). While
# a million resting orders (36 MiB) were written in one SET, a PING waited up to 173-178 ms (and
# every market with it); written in parts, up to 2.5-5.5 ms.
SNAPSHOT_PART_BYTES: Final = 64 * 1024


class SnapshotPartKeys(NamedTuple):
    fence: str
    staging: str


class SnapshotPartArgs(NamedTuple):
    token: int
    first: int  # 1: this part starts the snapshot
    part: bytes | memoryview


class SnapshotCommitKeys(NamedTuple):
    fence: str
    staging: str
    snapshot: str
    snapshot_command: str


class SnapshotCommitArgs(NamedTuple):
    token: int
    parts: int
    command_id: str


SNAPSHOT_PART: Final = LuaScript("snapshot_part", SnapshotPartKeys, SnapshotPartArgs)
SNAPSHOT_COMMIT: Final = LuaScript("snapshot_commit", SnapshotCommitKeys, SnapshotCommitArgs)


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


def snapshot_part_call(symbol: str, token: int, part: bytes | memoryview, *, first: bool) -> Call:
    return SNAPSHOT_PART.call(
        SnapshotPartKeys(fence=keys.fence(symbol), staging=keys.snapshot_staging(symbol)),
        SnapshotPartArgs(token=token, first=int(first), part=part),
    )


def snapshot_commit_call(symbol: str, token: int, parts: int, command_id: str) -> Call:
    return SNAPSHOT_COMMIT.call(
        SnapshotCommitKeys(
            fence=keys.fence(symbol),
            staging=keys.snapshot_staging(symbol),
            snapshot=keys.snapshot(symbol),
            snapshot_command=keys.snapshot_command(symbol),
        ),
        SnapshotCommitArgs(token=token, parts=parts, command_id=command_id),
    )


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
