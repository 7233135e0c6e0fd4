"""The DB processor's settings: defaults, the `CRYPTEX_` environment, and a missing database
named at start."""

from __future__ import annotations

import pytest

from cryptex.settings import ConfigError, load
from cryptex_dbproc.settings import DbprocSettings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_DATABASE_URL", "postgresql://db/cryptex")
    monkeypatch.setenv("CRYPTEX_BATCH_SIZE", "8")
    settings = load(DbprocSettings)
    assert (settings.database_url, settings.batch_size) == ("postgresql://db/cryptex", 8)
    assert (settings.metrics_port, settings.block_ms) == (9102, 100)


def test_a_missing_database_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRYPTEX_DATABASE_URL", raising=False)
    monkeypatch.setenv("CRYPTEX_BATCH_SIZE", "0")
    with pytest.raises(ConfigError) as error:
        load(DbprocSettings)
    assert "CRYPTEX_DATABASE_URL: Field required" in str(error.value)
    assert "CRYPTEX_BATCH_SIZE" in str(error.value)
