"""The whole-stack chaos soak (tests/e2e/chaos.py): trading and WebSocket watching while a
process of the stack is SIGKILLed every few seconds, then every check on what was answered.
Short here (CRYPTEX_CHAOS_SECONDS, 150 by default); `make test-chaos` runs it for 30 minutes.
CRYPTEX_CHAOS_SEED replays a run: the seed is printed first."""

from __future__ import annotations

import os

import pytest

from tests.e2e.chaos import Soak, described, run_soak, seed_from_env

SECONDS = float(os.environ.get("CRYPTEX_CHAOS_SECONDS", "150"))
# Start, quiet and checks on top of the soak itself, on a loaded machine.
MARGIN_S = 600


@pytest.mark.timeout(SECONDS + MARGIN_S)
def test_nothing_acknowledged_is_lost_when_processes_die() -> None:
    result = run_soak(Soak(seed=seed_from_env(), seconds=SECONDS))
    assert result.kills, "nothing was killed: the soak proved nothing"
    assert result.figures.answers.placed, "no order was acknowledged"
    assert result.ok, described(result)()
