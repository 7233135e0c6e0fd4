"""`cryptex-mm` (or `python -m cryptex_mm`): the market maker on uvloop."""

from __future__ import annotations

import sys

import uvloop

from cryptex import logs
from cryptex.settings import load
from cryptex_mm.maker import serve
from cryptex_mm.settings import MmSettings


def main() -> int:
    settings = load(MmSettings)
    logs.configure(settings.log_level)
    return uvloop.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
