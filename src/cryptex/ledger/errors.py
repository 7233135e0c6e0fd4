"""What the ledger raises: broken invariants and lost races, never a business outcome (those
are values: `PlaceOutcome`, `TransferOutcome`, `CancelResult`)."""

from __future__ import annotations


class LedgerError(RuntimeError):
    """The ledger refused a write that the engine computed: a broken invariant."""


class StaleFenceError(LedgerError):
    """Another engine instance has taken the market over: this one must stop."""


class CommandGapError(LedgerError):
    """Commands between the last settled one and the batch went to another reader: the engine
    must rebuild its state and read them (they are pending) before going on."""
