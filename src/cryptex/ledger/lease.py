"""The engine lease scripts' contracts: keys and arguments by name. Pure."""

from __future__ import annotations

from typing import Final, NamedTuple

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript


class LeaseKeys(NamedTuple):
    lease: str


class RenewLeaseArgs(NamedTuple):
    holder: str
    ttl_ms: int


class ReleaseLeaseArgs(NamedTuple):
    holder: str


RENEW_LEASE: Final = LuaScript("renew_lease", LeaseKeys, RenewLeaseArgs)
RELEASE_LEASE: Final = LuaScript("release_lease", LeaseKeys, ReleaseLeaseArgs)


def renew_lease_call(symbol: str, holder: str, ttl_ms: int) -> Call:
    return RENEW_LEASE.call(LeaseKeys(keys.lease(symbol)), RenewLeaseArgs(holder, ttl_ms))


def release_lease_call(symbol: str, holder: str) -> Call:
    return RELEASE_LEASE.call(LeaseKeys(keys.lease(symbol)), ReleaseLeaseArgs(holder))
