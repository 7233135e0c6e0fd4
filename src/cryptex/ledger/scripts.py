"""How the ledger calls its Lua scripts: by name on both sides, never by position.

Each script's KEYS and ARGV are NamedTuples in the Python module that builds its arguments and
reads its reply; the script opens by naming them in the same order
(`local balances, order_record = unpack(KEYS, 1, 2)`), and a unit test checks that both lists
agree. A script that works with amounts is loaded behind `int64.lua`, the exact 64-bit integer
arithmetic that Lua's doubles lack. Pure: the scripts' text and their calls, no Redis."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any, NamedTuple


def lua_source(name: str) -> str:
    """The text of `<name>.lua` beside this module."""
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


class Call(NamedTuple):
    """One call of a script: its keys and its arguments, as EVALSHA takes them."""

    keys: list[str]
    args: list[Any]


class LuaScript:
    """A Lua script beside this module with its named KEYS and ARGV (NamedTuple classes; a
    script may take more keys and arguments after the named ones, as lists). A key that is
    None is left out, so an optional key comes last and the script finds it nil."""

    def __init__(
        self,
        name: str,
        keys: type[tuple[Any, ...]],
        args: type[tuple[Any, ...]],
        *,
        exact_integers: bool = False,
    ) -> None:
        self.name = name
        self.key_names: tuple[str, ...] = getattr(keys, "_fields")  # noqa: B009 (a NamedTuple)
        self.arg_names: tuple[str, ...] = getattr(args, "_fields")  # noqa: B009
        self.body = lua_source(name)
        self.source = (lua_source("int64") + self.body) if exact_integers else self.body
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()  # what SCRIPT LOAD answers

    def call(
        self,
        keys: tuple[Any, ...],
        args: tuple[Any, ...],
        extra_keys: Sequence[str] = (),
        extra_args: Sequence[Any] = (),
    ) -> Call:
        named = list(keys)
        while named and named[-1] is None:
            named.pop()
        if None in named or (extra_keys and len(named) < len(keys)):
            raise ValueError(f"{self.name}: only the last keys can be left out")
        return Call([*named, *extra_keys], [*args, *extra_args])
