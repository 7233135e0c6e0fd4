"""`cryptex-api` (or `python -m cryptex_api`): the REST gateway on uvicorn with uvloop."""

from __future__ import annotations

import uvicorn

from cryptex import logs
from cryptex.settings import ApiSettings, load
from cryptex_api.app import create_app


def main() -> None:
    settings = load(ApiSettings)
    logs.configure(settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, loop="uvloop",
        http="httptools", log_config=None, access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
