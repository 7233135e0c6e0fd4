"""Alertmanager's receiver in the local stack: each webhook notification it is sent becomes one
JSON line of the alerts log (firing and resolved alike). GET /healthz answers 200.

    python3 hack/stack/alert_sink.py --port 9194 --log .cryptex/logs/alerts.log

Standard library only; it never answers anything but 200 to a notification it wrote, so
Alertmanager retries one it could not.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def serve(port: int, log: Path) -> None:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                notification: Any = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_error(400, "not JSON")
                return
            line = json.dumps(notification, separators=(",", ":")) + "\n"
            with lock, log.open("a", encoding="utf-8") as out:
                out.write(line)
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the alerts log is the record; no access log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    serve(args.port, args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
