"""Typed reads of Redis streams for tests (redis-py's own types are unions of everything)."""

from __future__ import annotations

from typing import cast

import redis

from cryptex import keys
from cryptex.wire import Command, decode_command


def entries(client: redis.Redis, key: str) -> list[tuple[str, dict[bytes, bytes]]]:
    raw = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(key))
    return [(entry_id.decode(), fields) for entry_id, fields in raw]


def queued_commands(client: redis.Redis, symbol: str) -> list[Command]:
    return [
        decode_command(fields[keys.COMMAND_FIELD.encode()])
        for _, fields in entries(client, keys.commands(symbol))
    ]
