"""The ledger: balances and order records in Redis, changed only by the Lua scripts in this
package, each atomic.

- place: idempotent on (account, clientOrderId); locks funds, records the order, queues it.
- cancel: refuses an order that is not the caller's or not open; queues the cancel.
- settle: applies one engine batch (fills, fees, releases, records, events, market data,
  acknowledgements) under the engine's fencing token, all or nothing.
- transfer: deposits and withdrawals (from available only), journalled, once per reference.
- audit: conservation per asset at one instant, then each account alone: no negative balance,
  locks equal to what open orders hold.

One module per job: the records (`records`), the settle batch (`batch`), each script's
contract (`place`, `cancel`, `transfer`, `settle`, `lease`, `snapshots`, `audit`,
`read_orders`: keys and arguments by name, replies as enums), and the clients that run them
(`sync.Ledger`, `aio.AsyncLedger` with its `batcher`). Everything but the clients, the batcher
and the snapshot reads is pure.

Amounts cross into Lua as decimal text and stay text there: `int64.lua` adds and compares them
exactly over the whole 64-bit range that HINCRBY keeps, and a script refuses a change that
would pass it before it writes anything. This package never computes a fill: the engine does,
in Python. These names are its public face.
"""

from cryptex.ledger.aio import AsyncLedger
from cryptex.ledger.batch import SettleBatch
from cryptex.ledger.cancel import CancelResult
from cryptex.ledger.errors import CommandGapError, LedgerError, StaleFenceError
from cryptex.ledger.place import PlaceOutcome, PlaceResult
from cryptex.ledger.records import Balance, OrderRecord, order_record_for
from cryptex.ledger.settle import StreamEntries
from cryptex.ledger.snapshots import (
    SnapshotCommit,
    read_snapshot,
    snapshot_command_id,
    snapshot_parts,
)
from cryptex.ledger.sync import Ledger
from cryptex.ledger.transfer import TransferOutcome, TransferResult

__all__ = [
    "AsyncLedger",
    "Balance",
    "CancelResult",
    "CommandGapError",
    "Ledger",
    "LedgerError",
    "OrderRecord",
    "PlaceOutcome",
    "PlaceResult",
    "SettleBatch",
    "SnapshotCommit",
    "StaleFenceError",
    "StreamEntries",
    "TransferOutcome",
    "TransferResult",
    "order_record_for",
    "read_snapshot",
    "snapshot_command_id",
    "snapshot_parts",
]
