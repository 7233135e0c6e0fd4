"""The Dockerfiles, read as text: each copies only paths that exist and that the build context
(.dockerignore) keeps, installs dependencies in a layer of their own before the sources, runs as
the non-root uid the operator expects, and starts a console script that resolves."""

from __future__ import annotations

import fnmatch
import importlib
import json
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cryptex.settings import ApiSettings, EngineSettings
from cryptex_dbproc.settings import DbprocSettings
from cryptex_mm.settings import MmSettings
from cryptex_operator.settings import OperatorSettings
from cryptex_ws.settings import WsSettings

REPO = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted([*REPO.glob("images/*/Dockerfile"), REPO / "operator" / "Dockerfile"])
IDS = [str(path.relative_to(REPO).parent) for path in DOCKERFILES]
API = REPO / "images" / "api" / "Dockerfile"
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())
WHEEL_PACKAGES: list[str] = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
# The ports each image must EXPOSE: its settings' defaults.
PORTS = {
    "images/engine": {EngineSettings.model_fields["metrics_port"].default},
    "images/api": {ApiSettings.model_fields["port"].default},
    "images/ws": {WsSettings.model_fields[name].default for name in ("port", "metrics_port")},
    "images/dbproc": {DbprocSettings.model_fields["metrics_port"].default},
    "images/mm": {MmSettings.model_fields["metrics_port"].default},
    "operator": {OperatorSettings.model_fields["liveness_port"].default},
}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for instruction, args in self.instructions if instruction == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) of a Dockerfile: continuations joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert pending == "", f"{path}: a continuation runs off the end"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            assert keyword == "ARG", f"{path}: only ARG may come before FROM"
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


def copy_sources(args: str) -> tuple[list[str], bool]:
    """The sources of a COPY, and whether it copies from another stage."""
    words = shlex.split(args)
    from_stage = any(word.startswith("--from=") for word in words)
    paths = [word for word in words if not word.startswith("--")]
    return paths[:-1], from_stage


def dockerignored(relative: str) -> bool:
    """Whether the build context leaves `relative` out (.dockerignore: last match wins; a
    pattern also covers everything below a directory it matches)."""
    ignored = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        candidates = [*prefixes, *(p.split("/")[-1] for p in prefixes if "**" in pattern)]
        if any(fnmatch.fnmatch(candidate, pattern.replace("**/", "")) for candidate in candidates):
            ignored = not negate
    return ignored


def test_every_image_directory_has_a_dockerfile() -> None:
    packages = {
        Path(p).parent for p in PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    }
    service_dirs = {p for p in packages if p != Path("src")}
    assert {path.parent.relative_to(REPO) for path in DOCKERFILES} == service_dirs


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_copies_only_paths_that_exist_in_the_context(path: Path) -> None:
    _, stages = parse(path)
    for stage in stages:
        for args in stage.all("COPY"):
            sources, from_stage = copy_sources(args)
            if from_stage:
                continue
            for source in sources:
                relative = source.rstrip("/")
                assert (REPO / relative).exists(), f"{path}: COPY {source}: no such path"
                assert not dockerignored(relative), f"{path}: COPY {source}: .dockerignore drops it"


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_the_wheel_builds_from_what_is_copied(path: Path) -> None:
    """`pip install .` needs pyproject.toml, its readme and every package directory."""
    _, stages = parse(path)
    copied = {
        source.rstrip("/") for args in stages[0].all("COPY") for source in copy_sources(args)[0]
    }
    needed = {"pyproject.toml", PYPROJECT["project"]["readme"]}
    needed |= set(WHEEL_PACKAGES)
    missing = {
        item for item in needed if not any(item == c or item.startswith(c + "/") for c in copied)
    }
    assert missing == set()
    assert not any(dockerignored(item) for item in needed)
    assert dockerignored("tests/conftest.py")
    assert dockerignored(".venv/bin/python")
    assert dockerignored("src/cryptex/__pycache__/money.cpython-311.pyc")


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_multi_stage_with_a_dependency_layer_first(path: Path) -> None:
    args, stages = parse(path)
    # The API's image builds the web app in a stage of its own, between the two.
    builder, final = stages[0], stages[-1]
    assert [stage.name for stage in stages[1:-1]] == (["web"] if path == API else [])
    assert builder.name == "builder"
    assert builder.base == final.base == "${PYTHON_IMAGE}"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    order = [
        (keyword, value) for keyword, value in builder.instructions if keyword in ("COPY", "RUN")
    ]
    constraints = next(
        i for i, (k, v) in enumerate(order) if k == "COPY" and "constraints.txt" in v
    )
    install = next(i for i, (k, v) in enumerate(order) if k == "RUN" and "-c constraints.txt" in v)
    sources = next(i for i, (k, v) in enumerate(order) if k == "COPY" and "src/" in v)
    assert constraints < install < sources, "dependencies must be installed before the sources"
    assert all(copy_sources(a)[1] for a in final.all("COPY")), (
        "the final stage copies only the venv"
    )


def test_the_api_image_builds_and_serves_the_web_app() -> None:
    """npm ci from the lockfile before the sources (a layer of its own), `npm run build` (the
    type check, bundle and size budget of `make web`), and only web/dist in the final stage,
    where CRYPTEX_WEB_DIR points."""
    args, stages = parse(API)
    (web,) = [stage for stage in stages if stage.name == "web"]
    assert web.base == "${NODE_IMAGE}"
    assert args["NODE_IMAGE"].startswith("node:20")
    order = [(k, v) for k, v in web.instructions if k in ("COPY", "RUN")]
    assert order == [
        ("COPY", "web/package.json web/package-lock.json ./"),
        ("RUN", "npm ci --no-audit --no-fund"),
        ("COPY", "web/ ./"),
        ("RUN", "npm run build"),
    ]
    final = stages[-1]
    assert "--from=web /web/dist /opt/cryptex/web" in final.all("COPY")
    assert "CRYPTEX_WEB_DIR=/opt/cryptex/web" in " ".join(final.all("ENV")).split()
    # What npm builds from is in the build context; what it installs or builds is not.
    assert not dockerignored("web/src/main.tsx")
    assert not dockerignored("web/package-lock.json")
    for ignored in ("web/node_modules/react/index.js", "web/dist/index.html", "web/.test-build"):
        assert dockerignored(ignored), ignored


def test_builder_stages_are_identical() -> None:
    """So one build's dependency layers serve every image."""
    builders = {tuple(parse(path)[1][0].instructions) for path in DOCKERFILES}
    assert len(builders) == 1


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_runs_as_the_operators_non_root_uid(path: Path) -> None:
    _, stages = parse(path)
    (user,) = stages[-1].all("USER")
    uid = OperatorSettings.model_fields["engine_run_as_user"].default
    assert user == f"{uid}:{uid}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_ready_for_a_read_only_root_filesystem(path: Path) -> None:
    _, stages = parse(path)
    env = " ".join(stages[-1].all("ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env.split(), f"{path}: ENV {setting}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_entrypoint_is_a_console_script_that_resolves(path: Path) -> None:
    _, stages = parse(path)
    (entrypoint,) = stages[-1].all("ENTRYPOINT")
    command = json.loads(entrypoint)  # exec form: signals reach the service itself
    assert isinstance(command, list)
    scripts: dict[str, str] = PYPROJECT["project"]["scripts"]
    assert command[0] in scripts, f"{path}: {command[0]} is not in [project.scripts]"
    module, _, function = scripts[command[0]].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    # The image of images/<name> runs cryptex_<name>; the operator's, cryptex_operator.
    directory = path.parent.relative_to(REPO)
    assert module.split(".")[0] == f"cryptex_{directory.name}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_exposes_the_ports_its_settings_default_to(path: Path) -> None:
    _, stages = parse(path)
    exposed = {int(port) for args in stages[-1].all("EXPOSE") for port in args.split()}
    assert exposed == PORTS[str(path.parent.relative_to(REPO))]
