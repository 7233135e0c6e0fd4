"""The metrics server's errors: a scraper hanging up is a debug line, anything else one warning
through logging (so a JSON line in a service's log), never the standard library's dashed
traceback on stderr."""

from __future__ import annotations

import logging
import socket

import pytest
from prometheus_client import CollectorRegistry

from cryptex import metrics


@pytest.mark.parametrize(
    ("error", "level"),
    [(BrokenPipeError(32, "Broken pipe"), logging.DEBUG), (ValueError("bad"), logging.WARNING)],
)
def test_request_errors_go_to_the_log_not_stderr(
    error: Exception, level: int, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    server = metrics.serve(CollectorRegistry(), "127.0.0.1", 0, lambda: True)
    try:
        with caplog.at_level(logging.DEBUG, logger="cryptex.metrics"):
            try:
                raise error
            except Exception:
                with socket.socket() as request:
                    server.handle_error(request, ("127.0.0.1", 1))
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err == ""
    assert [record.levelno for record in caplog.records] == [level]
