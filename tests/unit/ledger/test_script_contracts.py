"""Every ledger script names its KEYS and ARGV in the order the Python contract beside it
builds them: a field added on one side only, or two swapped, fails here."""

from __future__ import annotations

import re
from typing import cast

import pytest

from cryptex.ledger.audit import AUDIT_ACCOUNT
from cryptex.ledger.cancel import CANCEL
from cryptex.ledger.lease import RELEASE_LEASE, RENEW_LEASE
from cryptex.ledger.place import PLACE, PlaceArgs, PlaceKeys
from cryptex.ledger.scripts import LuaScript
from cryptex.ledger.settle import SETTLE
from cryptex.ledger.snapshots import SNAPSHOT_COMMIT, SNAPSHOT_PART
from cryptex.ledger.transfer import TRANSFER

SCRIPTS = [
    PLACE, CANCEL, TRANSFER, SETTLE, SNAPSHOT_PART, SNAPSHOT_COMMIT, RENEW_LEASE, RELEASE_LEASE,
    AUDIT_ACCOUNT,
]  # fmt: skip


def declared(body: str, table: str) -> tuple[str, ...]:
    """The names of `local a, b, c =\\n  unpack(TABLE, 1, 3)`, checked against its count."""
    found = re.search(rf"^local ([\w,\s]+?)=\s*unpack\({table}, 1, (\d+)\)", body, re.MULTILINE)
    assert found is not None, f"no `local ... = unpack({table}, 1, N)`"
    names = tuple(name.strip() for name in found[1].split(","))
    assert len(names) == int(found[2])
    return names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_the_script_names_its_keys_and_arguments_as_its_contract_does(script: LuaScript) -> None:
    assert declared(script.body, "KEYS") == script.key_names
    assert declared(script.body, "ARGV") == script.arg_names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_no_script_reads_keys_or_arguments_by_position_beyond_its_names(
    script: LuaScript,
) -> None:
    """Past the named ones, only the documented tails are read by index (settle's batch keys
    and messages, the audit's order records and ids)."""
    positional = set(re.findall(r"(?:KEYS|ARGV)\[(?:[^\[\]]|\[[^\]]*\])*\]", script.body))
    allowed = {
        "settle": {"KEYS[move[1]]", "KEYS[record[1]]", "KEYS[change[1]]", "KEYS[change[2]]",
                   "ARGV[at - 1]"},
        "audit": {"ARGV[1 + i]", "KEYS[3 + i]"},
    }.get(script.name, set())  # fmt: skip
    assert positional <= allowed


def test_an_optional_key_can_only_be_left_out_last() -> None:
    names = PlaceKeys(
        balances="b", order_record="o", open_orders="s", open_counts="n", commands="c",
        version="v", client_order=None,
    )  # fmt: skip
    args = PlaceArgs(
        order_id=1, market="m", asset="a", locked_field="l", lock_units=1, command=b"",
        command_field="c", client_order_ttl_s=1, terms="t", max_open_orders=1, record=b"",
    )  # fmt: skip
    assert PLACE.call(names, args).keys == ["b", "o", "s", "n", "c", "v"]
    with pytest.raises(ValueError, match="only the last keys"):
        PLACE.call(names._replace(order_record=cast(str, None), client_order="x"), args)
