"""The operator's settings: namespaces to watch, the engines' Redis URL, loud refusals."""

from __future__ import annotations

import pytest

from cryptex.settings import ConfigError, load
from cryptex_operator.settings import OperatorSettings


def test_namespaces_and_the_engines_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_NAMESPACES", "cryptex, markets-b")
    monkeypatch.setenv("CRYPTEX_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load(OperatorSettings)
    assert settings.watched_namespaces == ["cryptex", "markets-b"]
    assert settings.engine_redis == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("CRYPTEX_ENGINE_REDIS_URL", "redis://redis.cryptex:6379/0")
    monkeypatch.setenv("CRYPTEX_NAMESPACES", "*")
    settings = load(OperatorSettings)
    assert settings.watched_namespaces == []  # every namespace
    assert settings.engine_redis == "redis://redis.cryptex:6379/0"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "CRYPTEX_NAMESPACES: Field required"),
        ({"CRYPTEX_NAMESPACES": " , "}, "CRYPTEX_NAMESPACES: Value error, name at least one"),
        (
            {"CRYPTEX_NAMESPACES": "cryptex", "CRYPTEX_ENGINE_REDIS_URL_SECRET": "no-key"},
            "CRYPTEX_ENGINE_REDIS_URL_SECRET: String should match pattern",
        ),
    ],
)
def test_a_setting_that_cannot_work_stops_the_operator_naming_it(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    monkeypatch.delenv("CRYPTEX_NAMESPACES", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load(OperatorSettings)
