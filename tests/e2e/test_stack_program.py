"""The stack program itself: every process healthy on its own port, and a second `up` from a
data dir whose stack runs is refused instead of starting a rival set of processes."""

from __future__ import annotations

from tests.e2e.harness import StackRun


def test_every_service_runs_healthy_on_its_own_port(stack: StackRun) -> None:
    status = stack.status()
    assert status["healthy"], status
    names = {p["name"] for p in status["processes"]}
    engines = {f"engine-{symbol}" for symbol in stack.state["markets"]}
    assert {"redis", "postgres", "api", "ws", "dbproc", *engines} == names
    ports = stack.state["ports"]
    taken = [ports[n] for n in ("api", "ws", "redis", "postgres", "dbproc", "ws_metrics")]
    taken += ports["engines"].values()
    assert len(set(taken)) == len(taken)


def test_a_second_up_from_a_running_data_dir_is_refused(stack: StackRun) -> None:
    done = stack.run("up", "--detach", "--no-install", check=False)
    assert done.returncode == 1
    assert "already runs" in done.stderr
    assert stack.status()["healthy"]
