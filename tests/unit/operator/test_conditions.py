"""Conditions from observations: which ones hold, and lastTransitionTime moving only on a flip."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptex_operator import status
from cryptex_operator.status import Observation, Problem

RUNNING = Observation(
    generation=3,
    desired_state="Active",
    applied_state="Active",
    engine_ready=True,
    heartbeat_state="Active",
)
T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z"


def by_type(conditions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions}


def test_a_running_engine_in_the_asked_state_is_ready() -> None:
    assert status.conditions(RUNNING) == [
        {
            "type": "Ready", "status": "True", "reason": "EngineRunning",
            "message": "the engine runs in Active", "observedGeneration": 3,
        },
        {
            "type": "EngineAvailable", "status": "True", "reason": "EngineRunning",
            "message": "the engine is ready and reports Active", "observedGeneration": 3,
        },
        {
            "type": "Halted", "status": "False", "reason": "Active",
            "message": "the engine acknowledged Active", "observedGeneration": 3,
        },
        {
            "type": "Degraded", "status": "False", "reason": "AsExpected", "message": "",
            "observedGeneration": 3,
        },
    ]  # fmt: skip


def test_each_way_of_not_being_ready() -> None:
    cases = {
        "pending": replace(RUNNING, desired_state="Halted"),
        "no pod": replace(RUNNING, engine_ready=False),
        "no heartbeat": replace(RUNNING, heartbeat_state=None),
        "nothing": replace(RUNNING, engine_ready=False, heartbeat_state=None, applied_state=None),
        "problem": replace(RUNNING, problem=Problem("InvalidSpec", "tickSize ...")),
        "retiring": replace(RUNNING, retiring="waiting for the engine to stop"),
    }
    assert {name: by_type(status.conditions(o)) for name, o in cases.items()} == {
        "pending": {
            "Ready": ("False", "TradingStatePending"), "EngineAvailable": ("True", "EngineRunning"),
            "Halted": ("False", "Active"), "Degraded": ("False", "AsExpected"),
        },
        "no pod": {
            "Ready": ("False", "EngineUnavailable"),
            "EngineAvailable": ("False", "DeploymentNotReady"),
            "Halted": ("False", "Active"), "Degraded": ("False", "AsExpected"),
        },
        "no heartbeat": {
            "Ready": ("False", "EngineUnavailable"), "EngineAvailable": ("False", "NoHeartbeat"),
            "Halted": ("False", "Active"), "Degraded": ("False", "AsExpected"),
        },
        "nothing": {
            "Ready": ("False", "EngineUnavailable"),
            "EngineAvailable": ("False", "EngineNotRunning"),
            "Halted": ("Unknown", "NotAcknowledged"), "Degraded": ("False", "AsExpected"),
        },
        "problem": {
            "Ready": ("False", "InvalidSpec"), "EngineAvailable": ("True", "EngineRunning"),
            "Halted": ("False", "Active"), "Degraded": ("True", "InvalidSpec"),
        },
        "retiring": {
            "Ready": ("False", "Retiring"), "EngineAvailable": ("True", "EngineRunning"),
            "Halted": ("False", "Active"), "Degraded": ("False", "AsExpected"),
        },
    }  # fmt: skip


def test_halted_and_closed_are_halted() -> None:
    for state in ("Halted", "Closed"):
        halted = replace(RUNNING, desired_state=state, applied_state=state, heartbeat_state=state)
        assert by_type(status.conditions(halted))["Halted"] == ("True", state)
        assert by_type(status.conditions(halted))["Ready"] == ("True", "EngineRunning")


def test_last_transition_time_moves_only_when_the_status_flips() -> None:
    first = status.merge([], status.conditions(RUNNING), T0)
    assert {c["lastTransitionTime"] for c in first} == {T0}

    # Same statuses, other messages (the heartbeat's state lags): no transition.
    lagging = replace(RUNNING, heartbeat_state="Halted")
    again = status.merge(first, status.conditions(lagging), T1)
    assert {c["lastTransitionTime"] for c in again} == {T0}
    assert again[1]["message"] == "the engine is ready and reports Halted"

    # The engine goes away: Ready and EngineAvailable flip, Halted and Degraded do not.
    gone = replace(RUNNING, engine_ready=False, heartbeat_state=None)
    later = status.merge(again, status.conditions(gone), T2)
    assert {c["type"]: c["lastTransitionTime"] for c in later} == {
        "Ready": T2, "EngineAvailable": T2, "Halted": T0, "Degraded": T0,
    }  # fmt: skip
    assert [c["type"] for c in status.flips(again, later)] == ["Ready", "EngineAvailable"]
    assert status.flips(later, later) == []


def test_the_status_patch_keeps_what_a_handler_reported() -> None:
    degraded = replace(RUNNING, problem=Problem("EngineNotRunning", "no heartbeat from the engine"))
    written = status.status_patch({}, degraded, symbol="SOL_USDC", observed_generation=2, now=T0)
    assert {k: v for k, v in written.items() if k != "conditions"} == {
        "observedGeneration": 2,
        "symbol": "SOL_USDC",
        "engineReady": True,
        "lastAppliedTradingState": "Active",
    }
    problem = status.problem_of(written["conditions"])
    assert problem == Problem("EngineNotRunning", "no heartbeat from the engine")
    assert status.problem_of(status.merge([], status.conditions(RUNNING), T0)) is None
    unknown = status.status_patch(
        written, replace(RUNNING, applied_state=None), symbol=None, observed_generation=2, now=T1
    )
    assert "symbol" not in unknown
    assert "lastAppliedTradingState" not in unknown


def test_a_deployment_is_ready_once_its_controller_saw_it_and_its_pod_is_ready() -> None:
    def deployment(generation: int, **status_: int) -> dict[str, Any]:
        return {"metadata": {"generation": generation}, "status": status_}

    ready = {"observedGeneration": 2, "updatedReplicas": 1, "readyReplicas": 1}
    assert status.deployment_ready(deployment(2, **ready))
    assert not status.deployment_ready(deployment(3, **ready))  # a roll not seen yet
    assert not status.deployment_ready(deployment(2, **{**ready, "readyReplicas": 0}))
    assert not status.deployment_ready(deployment(2, **{**ready, "updatedReplicas": 0}))
    assert not status.deployment_ready({"metadata": {"generation": 1}})
    assert not status.deployment_ready(None)
