"""Each service's `/metrics` (Prometheus text) and `/healthz`, on a small HTTP server thread.

Metric labels never carry ids (orders, accounts): those belong in log lines."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A scraper that hung up (it timed out on a process that was stopped or busy) is
        routine; anything else is logged as a JSON line, never as the standard library's
        dashed traceback on stderr, which the log pipeline cannot parse."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("metrics client went away: %s", error)
        else:
            log.warning("metrics request failed", exc_info=True)


def serve(
    registry: CollectorRegistry, host: str, port: int, healthy: Callable[[], bool]
) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; `healthy()` decides between 200 and 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif self.path in ("/healthz", "/readyz"):
                ok = healthy()
                self._answer(200 if ok else 503, "text/plain", b"ok\n" if ok else b"unhealthy\n")
            else:
                self._answer(404, "text/plain", b"not found\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds would drown the service's own log lines."""

    server = _Server((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
