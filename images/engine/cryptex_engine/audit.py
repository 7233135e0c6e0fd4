"""`cryptex-audit`: check the ledger's invariants and print the report as JSON.

Exit 0 when every asset is conserved (accounts hold exactly deposits minus withdrawals, the fee
account included), no balance is negative, and every account's locks equal what its open
orders hold; exit 1 otherwise. It reads one consistent view inside Redis, which blocks Redis
while it runs: for operators and tests, not for a hot path.
"""

from __future__ import annotations

import argparse
import json
import sys

from cryptex.ledger import Ledger, connect
from cryptex.settings import CommonSettings, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cryptex-audit", description=__doc__)
    parser.parse_args(argv)
    settings = load(CommonSettings)
    report = Ledger(connect(settings.redis_url)).audit()
    print(
        json.dumps(
            {"ok": report.ok, "totals": report.totals, "held": report.held,
             "problems": report.problems},
            indent=2, sort_keys=True,
        )
    )  # fmt: skip
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
