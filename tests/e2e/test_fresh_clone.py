"""A fresh clone works from wherever it was cloned. It is cloned into a folder of mode 700, as
`mktemp -d` makes them and as Ubuntu makes home directories: closed to every other user,
`postgres` included, which runs PostgreSQL when the stack runs as root. There, the stack's own
program (`make up` runs it) starts, keeps its data across a restart, and `wipe` removes all of
it; and `make test` is wired to install what it runs before it runs pytest."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT_S = 180


@pytest.fixture
def clone() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cryptex-clone-"))
    checkout = folder / "cryptex"
    try:
        subprocess.run(
            ["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True, timeout=120
        )
        yield checkout
    finally:
        stack = checkout / "hack" / "stack" / "stack.py"
        if stack.exists():  # stops what is left, removes a cluster kept outside
            subprocess.run([sys.executable, str(stack), "down"], check=False, timeout=120)
            subprocess.run([sys.executable, str(stack), "wipe"], check=False, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def stack_py(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The clone's own stack program, with this venv's Python: it holds the services (an
    install into the clone would take minutes, and `up` needs no more than their packages).
    A developer's CRYPTEX_ settings must not point it at their servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTEX_")}
    done = subprocess.run(
        [sys.executable, str(checkout / "hack" / "stack" / "stack.py"), *args],
        capture_output=True, text=True, env=env, timeout=UP_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"stack.py {' '.join(args)}:\n{done.stderr}\n{done.stdout}"
    return done


def test_the_stack_runs_from_a_clone_in_a_closed_folder(clone: Path) -> None:
    assert stat.S_IMODE(clone.parent.stat().st_mode) == 0o700
    data = clone / ".cryptex"  # the default data dir, where the README says
    first = stack_py(clone, "up", "--detach", "--free-ports", "--no-mm", "--no-install")
    state = json.loads((data / "stack.json").read_text())
    cluster = Path(state["postgres_data"])
    if os.geteuid() == 0:  # the postgres user cannot enter the clone: the cluster is outside
        assert (data / "postgres").is_symlink()
        assert (data / "postgres").resolve() == cluster
        assert not cluster.is_relative_to(clone.parent)
        assert cluster.owner() == "postgres"
        assert f"PostgreSQL's data goes to {cluster}" in first.stderr
        assert f"(data in {cluster}; .cryptex/postgres links there)" in first.stdout
    else:  # PostgreSQL runs as the caller, who can
        assert cluster == data / "postgres"

    email = f"clone-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": "a clone's trader"}
    with httpx.Client(base_url=state["api"], timeout=10) as http:
        created = http.post("/api/v1/signup", json=credentials)
        assert created.status_code == 201, created.text

    stack_py(clone, "down")
    again = stack_py(clone, "up", "--detach", "--no-mm", "--no-install")
    assert json.loads((data / "stack.json").read_text())["postgres_data"] == str(cluster)
    if os.geteuid() == 0:
        assert f"PostgreSQL's data is in {cluster}" in again.stderr
    with httpx.Client(base_url=state["api"], timeout=10) as http:
        signed = http.post("/api/v1/signin", json=credentials)
    assert signed.status_code == 200, signed.text  # the account lived in that cluster
    assert signed.json()["accountId"] == created.json()["accountId"]

    stack_py(clone, "down")
    stack_py(clone, "wipe")
    assert not data.exists()
    assert not cluster.exists()


def test_make_test_installs_what_it_runs_first(clone: Path) -> None:
    """A dry run of a fresh clone's `make test`: the .venv, the Debian packages and the web app
    (npm ci, its build, its unit tests) come first (each step is a no-op when done already),
    pytest last."""
    done = subprocess.run(
        ["make", "-n", "test"], cwd=clone, capture_output=True, text=True, check=True, timeout=30
    )
    steps = done.stdout.splitlines()

    def step(prefix: str) -> int:
        return next(i for i, line in enumerate(steps) if line.startswith(prefix))

    venv = step("python3 -m venv .venv")
    workspace = step(".venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'")
    debs = step("hack/debs.sh redis-server postgresql")
    npm_ci = step("cd web && npm ci")
    web_build = step("cd web && npm run --silent build")
    web_tests = step("cd web && npm test")
    pytest_run = step(".venv/bin/python -m pytest")
    assert venv < workspace < pytest_run
    assert debs < pytest_run
    assert npm_ci < web_build < pytest_run
    assert npm_ci < web_tests < pytest_run
