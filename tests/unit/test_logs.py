"""One JSON object a line: the standard fields, the call's extras, the exception; kopf's bulky
settings object left out."""

from __future__ import annotations

import json
import logging
import sys

from cryptex.logs import JsonFormatter


def formatted(**extra: object) -> dict[str, object]:
    logger = logging.getLogger("cryptex.test")
    record = logger.makeRecord(
        "cryptex.test", logging.WARNING, __file__, 1, "order %s refused", (7,), None, extra=extra
    )
    line: dict[str, object] = json.loads(JsonFormatter().format(record))
    return line


def test_a_line_has_the_standard_fields_and_the_extras() -> None:
    line = formatted(market="SOL_USDC", order_id=7)
    assert {k: line[k] for k in ("level", "logger", "msg", "market", "order_id")} == {
        "level": "WARNING", "logger": "cryptex.test", "msg": "order 7 refused",
        "market": "SOL_USDC", "order_id": 7,
    }  # fmt: skip
    assert isinstance(line["ts"], str)
    assert str(line["ts"]).endswith("+00:00")


def test_kopfs_settings_are_left_out_and_other_objects_are_text() -> None:
    line = formatted(settings=object(), k8s_ref={"name": "sol-usdc"}, when=object())
    assert "settings" not in line
    assert line["k8s_ref"] == {"name": "sol-usdc"}
    assert str(line["when"]).startswith("<object object")


def test_an_exception_is_in_the_line() -> None:
    try:
        raise ValueError("bad tick")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad tick" in line["exc"]
