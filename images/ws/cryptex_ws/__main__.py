"""`cryptex-ws` (or `python -m cryptex_ws`): the WebSocket server on uvloop."""

from __future__ import annotations

import uvloop

from cryptex import logs
from cryptex.settings import load
from cryptex_ws.server import run
from cryptex_ws.settings import WsSettings


def main() -> None:
    settings = load(WsSettings)
    logs.configure(settings.log_level)
    uvloop.run(run(settings))


if __name__ == "__main__":
    main()
