"""The chart's hooks run for real, outside Kubernetes: the migrations Job's script against a fresh
PostgreSQL database, and the `helm test` script (place and cancel an order) against the API as a
process with its Redis, PostgreSQL and a SOL_USDC engine (tests/integration/api's stack)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

from cryptex import db
from tests.integration.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.integration.chart.chart import CHART, Rendered
from tests.servers import POSTGRES_BIN, PostgresServer, free_port

TEST_SCRIPT = CHART / "files" / "order_roundtrip.py"


def _migrations_command(rendered: Rendered) -> tuple[list[str], dict[str, str]]:
    job = rendered.component("Job", "migrations")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    return container["command"], env


def _run(command: list[str], env: dict[str, str], timeout: float = 60) -> Any:
    assert command[0] == "python"
    return subprocess.run(
        [sys.executable, *command[1:]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_migrations_job_applies_each_migration_once(
    rendered: dict[str, Rendered], postgres_server: PostgresServer
) -> None:
    command, env = _migrations_command(rendered["default"])
    database = f"migrations_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(postgres_server.port),
         "-U", "cryptex", database],
        check=True, capture_output=True,
    )  # fmt: skip
    env["CRYPTEX_DATABASE_URL"] = postgres_server.url.rsplit("/", 1)[0] + f"/{database}"
    names = [f"{m.version:04d}_{m.name}" for m in db.migrations()]

    first = _run(command, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "applied: " + ", ".join(names)
    again = _run(command, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "applied: none, up to date"


def test_migrations_job_waits_for_postgres_then_gives_up(rendered: dict[str, Rendered]) -> None:
    command, env = _migrations_command(rendered["default"])
    env["CRYPTEX_DATABASE_URL"] = f"postgresql://cryptex@127.0.0.1:{free_port()}/cryptex"
    env["CRYPTEX_MIGRATIONS_WAIT_S"] = "3"
    done = _run(command, env)
    assert done.returncode != 0
    assert "waiting for PostgreSQL" in done.stdout


def test_helm_test_pod_runs_the_shipped_script(rendered: dict[str, Rendered]) -> None:
    release = rendered["default"]
    (pod,) = release.of_kind("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["python", "/scripts/order_roundtrip.py"]
    config_map = release.component("ConfigMap", "test")
    assert config_map["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert config_map["data"]["order_roundtrip.py"] == TEST_SCRIPT.read_text(encoding="utf-8")


def test_helm_test_script_places_and_cancels_an_order(stack: Stack) -> None:
    env = {
        "CRYPTEX_TEST_API_URL": stack.url,
        "CRYPTEX_TEST_ADMIN_EMAIL": ADMIN_EMAIL,
        "CRYPTEX_TEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CRYPTEX_TEST_MARKET": "SOL_USDC",  # the one market with an engine in this stack
    }
    done = _run(["python", str(TEST_SCRIPT)], env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "order round trip: OK", done.stdout
    report = stack.ledger().audit()
    assert report.ok, report.problems


def test_helm_test_script_fails_loudly_on_a_wrong_password(stack: Stack) -> None:
    env = {
        "CRYPTEX_TEST_API_URL": stack.url,
        "CRYPTEX_TEST_ADMIN_EMAIL": ADMIN_EMAIL,
        "CRYPTEX_TEST_ADMIN_PASSWORD": "not the password",
        "CRYPTEX_TEST_MARKET": "SOL_USDC",
    }
    done = _run(["python", str(TEST_SCRIPT)], env, timeout=120)
    assert done.returncode == 1
    assert "FAILED: sign-in: HTTP 401" in done.stderr
