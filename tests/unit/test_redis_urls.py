"""The Redis URLs a service takes: `redis+sentinel://` names the Sentinels, the primary's name
and the database; a malformed one is refused at start with what is wrong."""

from __future__ import annotations

import re

import pytest

from cryptex.redis_access import SentinelTarget, is_sentinel


def test_a_sentinel_url_names_sentinels_primary_and_db() -> None:
    target = SentinelTarget.parse("redis+sentinel://10.0.0.1:26379,sentinel-b:26380/cryptex/2")
    assert target == SentinelTarget(
        (("10.0.0.1", 26379), ("sentinel-b", 26380)), "cryptex", 2, None
    )


def test_the_db_defaults_to_0_and_a_password_is_unquoted() -> None:
    target = SentinelTarget.parse("redis+sentinel://:p%40ss@h:26379/cryptex")
    assert (target.db, target.password) == (0, "p@ss")


def test_only_sentinel_urls_are_sentinel() -> None:
    assert is_sentinel("redis+sentinel://h:1/m")
    assert not is_sentinel("redis://h:6379/0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h:6379/0", "not a redis+sentinel:// URL"),
        ("redis+sentinel://h/cryptex", "each Sentinel is host:port"),
        ("redis+sentinel://h:1,:2/cryptex", "each Sentinel is host:port"),
        ("redis+sentinel://h:1/", "the path is /<primary name>[/<db>]"),
        ("redis+sentinel://h:1/cryptex/zero", "the path is /<primary name>[/<db>]"),
        ("redis+sentinel://h:1/cryptex/0/x", "the path is /<primary name>[/<db>]"),
        ("redis+sentinel://h:1/cryptex?db=1", "takes no query"),
    ],
)
def test_malformed_sentinel_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SentinelTarget.parse(url)
