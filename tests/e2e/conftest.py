"""One stack for the tier, started by `hack/stack/stack.py` on free ports in a temp data dir and
stopped at the end, without the market maker (its quotes would take part in every trade here;
test_market_maker.py starts a stack of its own with it) and without the monitoring
(test_monitoring.py runs a stack of its own with it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import StackRun


@pytest.fixture(scope="session")
def stack() -> Iterator[StackRun]:
    run = StackRun("--no-mm", "--no-monitoring")
    try:
        run.up()
        yield run
    finally:
        run.remove()
