"""Settings: the JWT secret is required outside dev mode, as for the API."""

from __future__ import annotations

import pytest

from cryptex.settings import ConfigError, load
from cryptex_ws.settings import WsSettings


def test_defaults_in_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_DEV_MODE", "true")
    settings = load(WsSettings)
    assert (settings.port, settings.metrics_port, settings.jwt_secret) == (8001, 9103, "")


def test_a_short_or_missing_secret_stops_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRYPTEX_DEV_MODE", raising=False)
    monkeypatch.setenv("CRYPTEX_JWT_SECRET", "short")
    with pytest.raises(ConfigError, match="CRYPTEX_JWT_SECRET"):
        load(WsSettings)


def test_limits_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_DEV_MODE", "true")
    monkeypatch.setenv("CRYPTEX_SEND_QUEUE_BYTES", "10")
    with pytest.raises(ConfigError, match="CRYPTEX_SEND_QUEUE_BYTES"):
        load(WsSettings)
    monkeypatch.setenv("CRYPTEX_SEND_QUEUE_BYTES", "1000000")
    monkeypatch.setenv("CRYPTEX_MAX_MESSAGE_BYTES", "100000")
    with pytest.raises(ConfigError, match="CRYPTEX_MAX_MESSAGE_BYTES"):
        load(WsSettings)
