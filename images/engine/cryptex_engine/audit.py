"""`cryptex-audit`: check the ledger's invariants and print the report as JSON.

Exit 0 when every asset is conserved (accounts hold exactly deposits minus withdrawals, the fee
account included), no balance is negative, and every account's locks and open-order counts
equal what its open orders hold; exit 1 otherwise. Safe while trading goes on: it reads one
account at a time, each in one short script, and checks conservation on running totals that
every ledger script keeps (see `cryptex.ledger.audit`). `recounted` is the accounts' balances
summed, when no balance moved during the pass (else null).
"""

from __future__ import annotations

import argparse
import json
import sys

from cryptex.ledger import Ledger
from cryptex.redis_access import connect
from cryptex.settings import CommonSettings, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cryptex-audit", description=__doc__)
    parser.parse_args(argv)
    settings = load(CommonSettings)
    report = Ledger(connect(settings.redis_url)).audit()
    print(
        json.dumps(
            {"ok": report.ok, "totals": report.totals, "held": report.held,
             "recounted": report.recounted, "accounts": report.accounts,
             "problems": report.problems},
            indent=2, sort_keys=True,
        )
    )  # fmt: skip
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
