"""A Market's status from what the operator observed: the conditions Ready, EngineAvailable,
Halted and Degraded, and the fields beside them.

Pure: the time comes in as an argument. A condition's lastTransitionTime moves only when its
status flips; a new reason or message alone keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

READY: Final = "Ready"
ENGINE_AVAILABLE: Final = "EngineAvailable"
HALTED: Final = "Halted"
DEGRADED: Final = "Degraded"

# Trading states in which the engine takes nothing from traders.
_HALTED_STATES: Final = frozenset({"Halted", "Closed"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the operator cannot do what the spec asks (reported in Degraded and Ready)."""

    reason: str  # CamelCase
    message: str


@dataclass(frozen=True, slots=True)
class Observation:
    generation: int  # metadata.generation of the spec observed
    desired_state: str  # spec.tradingState
    applied_state: str | None  # what the engine last acknowledged (None: not yet known)
    engine_ready: bool  # the Deployment counts its one pod ready and up to date
    heartbeat_state: str | None  # the heartbeat's trading state; None: no heartbeat
    problem: Problem | None = None
    retiring: str | None = None  # what the deletion is waiting for, while it runs


def deployment_ready(deployment: Mapping[str, Any] | None) -> bool:
    """Whether a Deployment's controller has seen its latest spec and has its pod ready."""
    if deployment is None:
        return False
    status = deployment.get("status") or {}
    generation = deployment.get("metadata", {}).get("generation", 0)
    return bool(
        status.get("observedGeneration", 0) >= generation
        and status.get("updatedReplicas", 0) >= 1
        and status.get("readyReplicas", 0) >= 1
    )


def problem_of(conditions: Sequence[Mapping[str, Any]]) -> Problem | None:
    """The problem a handler reported in Degraded, for a status refresh to keep."""
    for condition in conditions:
        if condition.get("type") == DEGRADED and condition.get("status") == "True":
            return Problem(str(condition.get("reason")), str(condition.get("message", "")))
    return None


def conditions(observed: Observation) -> list[dict[str, Any]]:
    """The four conditions, without transition times."""
    gen = observed.generation
    available = observed.engine_ready and observed.heartbeat_state is not None
    if available:
        engine = _condition(
            ENGINE_AVAILABLE, True, "EngineRunning",
            f"the engine is ready and reports {observed.heartbeat_state}", gen,
        )  # fmt: skip
    elif observed.heartbeat_state is not None:
        engine = _condition(
            ENGINE_AVAILABLE, False, "DeploymentNotReady",
            "the engine writes heartbeats but its Deployment has no ready, updated pod", gen,
        )  # fmt: skip
    elif observed.engine_ready:
        engine = _condition(
            ENGINE_AVAILABLE, False, "NoHeartbeat",
            "the engine pod is ready but writes no heartbeat to Redis", gen,
        )  # fmt: skip
    else:
        engine = _condition(
            ENGINE_AVAILABLE, False, "EngineNotRunning",
            "no ready engine pod and no heartbeat", gen,
        )  # fmt: skip

    applied = observed.applied_state
    if applied is None:
        halted = _condition(
            HALTED, None, "NotAcknowledged", "the engine has not reported a trading state", gen
        )
    elif applied in _HALTED_STATES:
        halted = _condition(HALTED, True, applied, f"the engine acknowledged {applied}", gen)
    else:
        halted = _condition(HALTED, False, applied, f"the engine acknowledged {applied}", gen)

    problem = observed.problem
    if problem is not None:
        degraded = _condition(DEGRADED, True, problem.reason, problem.message, gen)
    else:
        degraded = _condition(DEGRADED, False, "AsExpected", "", gen)

    desired = observed.desired_state
    if observed.retiring is not None:
        ready = _condition(READY, False, "Retiring", observed.retiring, gen)
    elif problem is not None:
        ready = _condition(READY, False, problem.reason, problem.message, gen)
    elif not available:
        ready = _condition(READY, False, "EngineUnavailable", engine["message"], gen)
    elif applied != desired:
        ready = _condition(
            READY, False, "TradingStatePending",
            f"asked for {desired}; the engine acknowledged {applied or 'nothing yet'}", gen,
        )  # fmt: skip
    else:
        ready = _condition(READY, True, "EngineRunning", f"the engine runs in {desired}", gen)
    return [ready, engine, halted, degraded]


def _condition(
    type_: str, status: bool | None, reason: str, message: str, generation: int
) -> dict[str, Any]:
    text = "Unknown" if status is None else "True" if status else "False"
    return {
        "type": type_,
        "status": text,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def is_trouble(condition: Mapping[str, Any]) -> bool:
    """Whether a condition calls for a look (a Warning event when it flips so)."""
    kind, value = condition.get("type"), condition.get("status")
    return (kind in (READY, ENGINE_AVAILABLE) and value == "False") or (
        kind == DEGRADED and value == "True"
    )


def merge(
    previous: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]], now: str
) -> list[dict[str, Any]]:
    """`current` with lastTransitionTime kept from `previous` where the status is unchanged."""
    before = {condition.get("type"): condition for condition in previous}
    merged = []
    for condition in current:
        old = before.get(condition["type"])
        unchanged = old is not None and old.get("status") == condition["status"]
        since = old.get("lastTransitionTime") if unchanged and old is not None else None
        merged.append({**condition, "lastTransitionTime": since or now})
    return merged


def flips(
    previous: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The conditions of `current` whose status differs from `previous` (new ones included)."""
    before = {condition.get("type"): condition.get("status") for condition in previous}
    return [dict(c) for c in current if before.get(c["type"]) != c["status"]]


def status_patch(
    previous: Mapping[str, Any],
    observed: Observation,
    *,
    symbol: str | None,
    observed_generation: int,
    now: str,
) -> dict[str, Any]:
    """The whole status to write (a merge patch of `status`), from the previous status."""
    old_conditions = previous.get("conditions") or []
    patch: dict[str, Any] = {
        "observedGeneration": observed_generation,
        "engineReady": observed.engine_ready,
        "conditions": merge(old_conditions, conditions(observed), now),
    }
    if symbol is not None:
        patch["symbol"] = symbol
    if observed.applied_state is not None:
        patch["lastAppliedTradingState"] = observed.applied_state
    return patch
