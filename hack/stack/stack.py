"""The whole exchange on one machine, as plain processes: `make up`, `make down`.

    python3 hack/stack/stack.py up [--detach]   # Ctrl-C stops it; `up` again resumes
    python3 hack/stack/stack.py status
    python3 hack/stack/stack.py down            # from another terminal, or after --detach
    python3 hack/stack/stack.py wipe            # delete its data, for a new exchange

`up` installs what is missing (the .venv through `make install`; `redis-server` and PostgreSQL
through apt-get), starts Redis (AOF, `appendfsync always`) and PostgreSQL with their data in the
data dir (`.cryptex/` by default; `initdb` once; as root, when the `postgres` user that runs
PostgreSQL cannot reach the data dir, its cluster goes to that user's home and
`<data dir>/postgres` links there), applies the migrations, lists the markets of
`crds/examples/` in the Redis registry, and starts one engine per market, the REST API, the
WebSocket server, the DB processor and the market maker (when `cryptex_mm` is installed, with an
account of its own), then the monitoring (unless --no-monitoring): the Redis and PostgreSQL
exporters, Alertmanager with a webhook receiver that writes `<data dir>/logs/alerts.log`, and
Prometheus, configured from this run's processes with the chart's alert rules (monitoring.py).
It waits until every one answers its health check, then prints the URLs, an admin token and a
funded demo trader. With CRYPTEX_REDIS_URL or CRYPTEX_DATABASE_URL set,
that server is used instead of a local one.

Everything lasts across restarts: Redis's append-only file, PostgreSQL's cluster, the JWT secret
and the generated passwords are kept in the data dir, so balances, orders, history and even
issued tokens are there after the next `up`. Logs go to `<data dir>/logs/`, the process ids to
`<data dir>/pids`. Stopping sends each process its stop signal (SIGTERM; SIGINT, the fast
shutdown, for PostgreSQL), clients before servers, waits, then SIGKILLs what is left.

`down`, `status` and `wipe` need only the standard library. `up` re-executes itself with the .venv's
Python, whose packages (redis, asyncpg, PyYAML, cryptex) it uses to prepare Redis and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import monitoring  # beside this file (the script's directory is first on sys.path)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = ROOT / ".cryptex"
DEFAULT_MARKETS = ROOT / "crds" / "examples"
WEB_BUILD = ROOT / "web" / "dist"  # `make web`; the API serves it at /
SERVICE_PACKAGES = ("cryptex", "cryptex_api", "cryptex_dbproc", "cryptex_engine", "cryptex_ws")
_REEXEC_MARK = "CRYPTEX_STACK_REEXEC"

# Off the defaults of system-wide Redis and PostgreSQL (6379, 5432, and the next ports Debian
# gives further PostgreSQL clusters), so a packaged server that apt started does not collide.
DEFAULT_PORTS = {"api": 8000, "ws": 8001, "redis": 6390, "postgres": 5490, "metrics": 9110}
# --ha: Redis's replica and three Sentinels, off Sentinel's default (26379).
REDIS_REPLICA_PORT = 6391
SENTINEL_PORTS = (26390, 26391, 26392)
SENTINEL_PRIMARY = "cryptex"  # the name the Sentinels monitor the primary under
SENTINEL_DOWN_AFTER_MS = 2000  # unreachable this long: the Sentinels vote a failover
# The monitoring's, off Prometheus's (9090), Alertmanager's (9093, 9094) and the exporters'
# (9121, 9187) for the same reason.
MONITORING_PORTS = {
    "prometheus": 9190, "alertmanager": 9193, "alert_sink": 9194, "redis_exporter": 9221,
    "postgres_exporter": 9287,
}  # fmt: skip
# Debian's packages of the monitoring, and the binaries each brings.
MONITORING_DEBS = {
    "prometheus": ("prometheus",),
    "prometheus-alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "prometheus-redis-exporter": ("prometheus-redis-exporter", "redis_exporter"),
    "prometheus-postgres-exporter": ("prometheus-postgres-exporter", "postgres_exporter"),
}  # fmt: skip

# Stop order: stage 0 first. Clients go before what they use; storage goes last.
STAGE_MM, STAGE_EDGE, STAGE_CORE, STAGE_STORAGE, STAGE_SUPERVISOR = 0, 1, 2, 3, -1
STOP_TIMEOUT_S = 20.0  # per stage, then SIGKILL
# What makes a foreground `up` stop the stack: Ctrl-C, `down`, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# Emails of the accounts the stack makes (RFC 2606 names: nothing is ever sent).
ADMIN_EMAIL = "admin@example.com"
DEMO_EMAIL = "demo@example.com"
MM_EMAIL = "market-maker@example.com"
# Whole units credited once to each (other assets: DEFAULT_FUNDS).
DEMO_FUNDS = {"USDC": "100000", "SOL": "500", "BTC": "2", "ETH": "40"}
DEFAULT_FUNDS = "1000"
# Where the market maker starts quoting while a book is empty (whole quote units).
MM_PRICES = {"SOL_USDC": "150", "BTC_USDC": "60000", "ETH_USDC": "3000"}
MM_QUOTE_FUNDS = 1_800_000  # whole units of each quote asset, shared by its markets


class StackError(RuntimeError):
    """Something the stack cannot work around; the message says what to do."""


class Interrupted(BaseException):
    """One of STOP_SIGNALS reached the supervisor."""


def say(line: str) -> None:
    print(f"stack: {line}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the data dir


@dataclass
class Ports:
    api: int
    ws: int
    redis: int
    postgres: int
    dbproc: int  # metrics and /healthz
    ws_metrics: int
    mm: int
    prometheus: int
    alertmanager: int
    alert_sink: int  # Alertmanager's webhook receiver, writing alerts.log
    redis_exporter: int
    postgres_exporter: int
    redis_replica: int  # --ha
    sentinels: list[int] = field(default_factory=list)  # --ha
    engines: dict[str, int] = field(default_factory=dict)  # by market symbol

    def all(self) -> list[int]:
        fixed = [self.api, self.ws, self.redis, self.postgres, self.dbproc, self.ws_metrics,
                 self.redis_replica, *self.sentinels]  # fmt: skip
        monitoring = [self.prometheus, self.alertmanager, self.alert_sink, self.redis_exporter,
                      self.postgres_exporter]  # fmt: skip
        return [*fixed, self.mm, *monitoring, *self.engines.values()]


def free_ports(count: int) -> list[int]:
    # Bound all at once, so the kernel cannot hand out the same port twice.
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def choose_ports(args: argparse.Namespace, data: Path, symbols: Sequence[str]) -> Ports:
    """Options first, then the ports of the last run from this data dir, then the defaults
    (or free ones with --free-ports). The result is kept for the next run."""
    saved_path = data / "ports.json"
    saved: dict[str, Any] = {}
    if saved_path.exists() and not args.free_ports:
        saved = json.loads(saved_path.read_text())
    spare = iter(free_ports(20 + len(symbols)))
    base = args.metrics_port if args.metrics_port is not None else DEFAULT_PORTS["metrics"]

    def pick(name: str, option: int | None, default: int) -> int:
        if option is not None:
            return option
        if name in saved:
            return int(saved[name])
        return next(spare) if args.free_ports else default

    ports = Ports(
        api=pick("api", args.api_port, DEFAULT_PORTS["api"]),
        ws=pick("ws", args.ws_port, DEFAULT_PORTS["ws"]),
        redis=pick("redis", args.redis_port, DEFAULT_PORTS["redis"]),
        postgres=pick("postgres", args.postgres_port, DEFAULT_PORTS["postgres"]),
        dbproc=pick("dbproc", args.metrics_port, base),
        ws_metrics=pick("ws_metrics", None if args.metrics_port is None else base + 1, base + 1),
        mm=pick("mm", None if args.metrics_port is None else base + 2, base + 2),
        prometheus=pick("prometheus", None, MONITORING_PORTS["prometheus"]),
        alertmanager=pick("alertmanager", None, MONITORING_PORTS["alertmanager"]),
        alert_sink=pick("alert_sink", None, MONITORING_PORTS["alert_sink"]),
        redis_exporter=pick("redis_exporter", None, MONITORING_PORTS["redis_exporter"]),
        postgres_exporter=pick("postgres_exporter", None, MONITORING_PORTS["postgres_exporter"]),
        redis_replica=pick("redis_replica", None, REDIS_REPLICA_PORT),
    )
    ports.sentinels = [int(port) for port in saved.get("sentinels", [])] or [
        next(spare) if args.free_ports else port for port in SENTINEL_PORTS
    ]
    saved_engines: dict[str, int] = saved.get("engines", {})
    for index, symbol in enumerate(symbols):
        explicit = None if args.metrics_port is None else base + 3 + index
        if explicit is None and symbol in saved_engines:
            ports.engines[symbol] = int(saved_engines[symbol])
        elif explicit is None and args.free_ports:
            ports.engines[symbol] = next(spare)
        else:
            ports.engines[symbol] = explicit if explicit is not None else base + 3 + index
    taken = ports.all()
    if len(set(taken)) != len(taken):
        raise StackError(f"two services were given the same port: {taken}")
    write_private(saved_path, json.dumps(asdict(ports), indent=2))
    return ports


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner reads, atomically (it may hold passwords or tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.chmod(0o600)
    partial.replace(path)


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """A value generated once and kept in the data dir."""
    if not path.exists():
        write_private(path, make() + "\n")
    return path.read_text().strip()


def credentials(data: Path) -> dict[str, dict[str, str]]:
    def make() -> str:
        return json.dumps(
            {who: {"email": email, "password": secrets.token_urlsafe(18)}
             for who, email in (("admin", ADMIN_EMAIL), ("demo", DEMO_EMAIL), ("mm", MM_EMAIL))},
            indent=2,
        )  # fmt: skip

    loaded: dict[str, dict[str, str]] = json.loads(kept_secret(data / "credentials.json", make))
    return loaded


# ------------------------------------------------------------------ processes


def _proc_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot): with the pid, it names one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):  # exited, not yet reaped
        return None
    return int(fields[19])


@dataclass
class Proc:
    """A process of the stack. `popen` is set in the supervisor that started it; elsewhere the
    pid and its start time identify it (a reused pid is never signalled)."""

    name: str
    pid: int
    start: int | None
    stage: int
    stop_signal: str = "SIGTERM"
    health: str | None = None  # URL answering 200 when healthy
    log: str | None = None
    # Its command line as started (Redis and PostgreSQL rewrite what /proc shows).
    argv: list[str] = field(default_factory=list)
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return self.start is not None and _proc_start_time(self.pid) == self.start

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name, "pid": self.pid, "start": self.start, "stage": self.stage,
            "stop_signal": self.stop_signal, "health": self.health, "log": self.log,
            "argv": self.argv,
        }  # fmt: skip


def stop_all(procs: Sequence[Proc], timeout: float = STOP_TIMEOUT_S) -> None:
    """Stage by stage: each process gets its stop signal, then SIGKILL after `timeout`."""
    for stage in sorted({p.stage for p in procs}):
        group = [p for p in procs if p.stage == stage and p.alive()]
        for proc in group:
            proc.signal(getattr(signal, proc.stop_signal))
        deadline = time.monotonic() + timeout
        while any(p.alive() for p in group) and time.monotonic() < deadline:
            time.sleep(0.05)
        for proc in group:
            if proc.alive():
                say(f"{proc.name} did not stop within {timeout:.0f}s: SIGKILL")
                proc.signal(signal.SIGKILL)
        for proc in group:
            if proc.popen is not None:
                proc.popen.wait()
            else:
                while proc.alive():
                    time.sleep(0.02)


def stop_order(procs: Sequence[Proc]) -> str:
    alive = sorted((p for p in procs if p.alive()), key=lambda p: p.stage)
    return ", ".join(p.name for p in alive)


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def http_json(
    method: str, url: str, body: object = None, token: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def log_tail(path: str | Path | None, lines: int = 15) -> str:
    if path is None:
        return ""
    try:
        text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(f"    | {line}" for line in text)


class Supervisor:
    """Starts the stack's processes in their own sessions (Ctrl-C reaches the supervisor only,
    which then stops them in order) and keeps their pids in the data dir."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.logs = data / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.pids_path = data / "pids"

    def spawn(
        self, name: str, argv: Sequence[str], *, stage: int, env: dict[str, str] | None = None,
        health: str | None = None, stop_signal: str = "SIGTERM", user: str | None = None,
        cwd: Path | None = None,
    ) -> Proc:  # fmt: skip
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as log:  # the child keeps its own descriptor
            popen = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, user=user, cwd=cwd or ROOT, start_new_session=True,
            )  # fmt: skip
        proc = Proc(
            name, popen.pid, _proc_start_time(popen.pid), stage, stop_signal, health,
            str(log_path), list(argv), popen,
        )  # fmt: skip
        self.procs.append(proc)
        self.save_pids()
        return proc

    def save_pids(self, *, with_supervisor: bool = True) -> None:
        records = [p.record() for p in self.procs]
        if with_supervisor:
            me = Proc("stack", os.getpid(), _proc_start_time(os.getpid()), STAGE_SUPERVISOR)
            records.insert(0, me.record())
        write_private(self.pids_path, json.dumps(records, indent=2))

    def wait_healthy(self, procs: Sequence[Proc], timeout: float) -> None:
        waiting = [p for p in procs if p.health]
        deadline = time.monotonic() + timeout
        while waiting:
            for proc in list(waiting):
                if not proc.alive():
                    raise StackError(
                        f"{proc.name} exited during start; the end of {proc.log}:\n"
                        + log_tail(proc.log)
                    )
                assert proc.health is not None
                if http_status(proc.health) == 200:
                    say(f"{proc.name} is healthy")
                    waiting.remove(proc)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                tails = "\n".join(f"  {p.log}:\n{log_tail(p.log)}" for p in waiting)
                raise StackError(f"{names} not healthy after {timeout:.0f}s\n{tails}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.procs:
            say("stopping: " + stop_order(self.procs))
        stop_all(self.procs)
        self.pids_path.unlink(missing_ok=True)
        self.procs = []


def read_pids(data: Path) -> list[Proc]:
    path = data / "pids"
    if not path.exists():
        return []
    return [Proc(**record) for record in json.loads(path.read_text())]


# ------------------------------------------------------------------ what has to be installed


def in_service_env() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in SERVICE_PACKAGES)


def ensure_venv(venv: Path) -> None:
    """Run under the .venv's Python, making it first (`make install`) when it is missing."""
    if in_service_env():
        return
    if os.environ.get(_REEXEC_MARK):  # already re-executed: never loop
        raise StackError(f"{sys.executable} cannot import {', '.join(SERVICE_PACKAGES)}")
    python = venv / "bin" / "python"
    probe = f"import {', '.join(SERVICE_PACKAGES)}"
    usable = python.exists() and subprocess.run([python, "-c", probe], check=False).returncode == 0
    if not usable:
        say(f"installing the workspace into {venv} (make install)")
        subprocess.run(["make", "-C", str(ROOT), "install", f"VENV={venv}"], check=True)
    os.environ[_REEXEC_MARK] = "1"
    os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def postgres_bin_dir(explicit: Path | None) -> Path | None:
    """PostgreSQL's server binaries: --pg-bin, else on PATH, else Debian's versioned directory
    (the newest version there)."""
    if explicit is not None:
        return explicit
    on_path = shutil.which("initdb")
    if on_path is not None and (Path(on_path).parent / "postgres").exists():
        return Path(on_path).parent
    debian = Path("/usr/lib/postgresql")
    found = [p.parent for p in debian.glob("*/bin/postgres") if p.parent.parent.name.isdigit()]
    found.sort(key=lambda bin_dir: int(bin_dir.parent.name))
    return found[-1] if found else None


def install_packages(packages: Sequence[str], allowed: bool) -> None:
    if not packages:
        return
    if not allowed:
        raise StackError(
            f"missing: {', '.join(packages)} (without --no-install, `up` installs them with "
            "apt-get; or point CRYPTEX_REDIS_URL / CRYPTEX_DATABASE_URL at running servers)"
        )
    if shutil.which("apt-get") is None:
        raise StackError(f"install {', '.join(packages)} (no apt-get on this machine)")
    sudo: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise StackError(f"apt-get needs root to install {', '.join(packages)}")
        sudo = ["sudo"]
    say(f"installing {', '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


# ------------------------------------------------------------------ servers


def start_redis(
    sup: Supervisor, port: int, *, name: str = "redis", replica_of: int | None = None
) -> tuple[Proc, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("redis-server is not installed")
    directory = sup.data / name
    directory.mkdir(parents=True, exist_ok=True)
    # The chart's ceiling, as in a cluster: the Redis memory alert and panel divide by it.
    maxmemory = str(monitoring.chart_values()["redis"]["maxmemory"])
    replication = [] if replica_of is None else ["--replicaof", "127.0.0.1", str(replica_of)]
    proc = sup.spawn(
        name,
        [
            binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--maxmemory", maxmemory, "--maxmemory-policy", "noeviction", "--daemonize", "no",
            *replication,
        ],
        stage=STAGE_STORAGE,
    )  # fmt: skip
    return proc, f"redis://127.0.0.1:{port}/0"


def start_sentinels(sup: Supervisor, ports: Ports) -> str:
    """--ha: three Sentinels (`redis-server --sentinel`) watching the primary, quorum 2. Each
    keeps its own config, which Sentinel rewrites as it learns (the replicas, the other
    Sentinels, a failover): an `up` after a failover finds the primary where they left it.
    Returns the URL the services are given."""
    binary = shutil.which("redis-server")
    assert binary is not None  # start_redis found it
    for index, port in enumerate(ports.sentinels):
        directory = sup.data / f"sentinel-{index}"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "sentinel.conf"
        if not config.exists():
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor {SENTINEL_PRIMARY} 127.0.0.1 {ports.redis} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_PRIMARY} {SENTINEL_DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SENTINEL_PRIMARY} 10000\n"
            )
        sup.spawn(f"sentinel-{index}", [binary, str(config), "--sentinel"], stage=STAGE_STORAGE)
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports.sentinels)
    return f"redis+sentinel://{hosts}/{SENTINEL_PRIMARY}/0"


def wait_sentinels(ports: Ports, timeout: float) -> None:
    """Until every Sentinel names one primary and knows the replica and the other two."""
    import redis

    deadline = time.monotonic() + timeout
    while True:
        views: set[tuple[int, bool, bool] | None] = set()
        for port in ports.sentinels:
            try:
                with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as client:
                    primary = client.sentinel_master(SENTINEL_PRIMARY)
                views.add((int(primary["port"]), int(primary["num-slaves"]) >= 1,
                           int(primary["num-other-sentinels"]) >= 2))  # fmt: skip
            except redis.RedisError:
                views.add(None)
        (view, *others) = views
        if not others and view is not None and view[1] and view[2]:
            say(f"redis sentinels agree: the primary is on port {view[0]}")
            return
        if time.monotonic() > deadline:
            raise StackError(f"the Redis Sentinels did not agree on a primary: {views}")
        time.sleep(0.2)


def wait_redis(proc: Proc, url: str, timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                say("redis is up")
                return
            except redis.ConnectionError:
                if not proc.alive() or time.monotonic() > deadline:
                    raise StackError(f"redis did not start:\n{log_tail(proc.log)}") from None
                time.sleep(0.05)
    finally:
        client.close()


# Under root, where the `postgres` user keeps the clusters of data dirs it cannot reach: a
# folder of its own home (Debian's /var/lib/postgresql).
RELOCATED_CLUSTERS = "cryptex"


def postgres_user() -> str | None:
    """Whom PostgreSQL runs as: it refuses root, so under root the `postgres` user that the
    package creates; otherwise the caller."""
    return "postgres" if os.geteuid() == 0 else None


def reaches(user: str, path: Path) -> bool:
    """Whether `user` can enter `path`: it needs the search bit of every parent too."""
    return subprocess.run(["test", "-x", str(path)], user=user, check=False).returncode == 0


def postgres_directory(data: Path, user: str | None) -> Path:
    """The cluster's directory, made and handed to `user`: `<data dir>/postgres`. When `user`
    cannot reach the data dir (a checkout in a home directory of mode 700 or 750, a `mktemp -d`
    folder), the cluster goes to `<user's home>/cryptex/` instead, and `<data dir>/postgres`
    becomes a link to it: the link ties the cluster to its data dir, so a new data dir gets a
    new cluster, and `wipe` finds it."""
    place = data / "postgres"
    if place.is_symlink():
        target = Path(os.readlink(place))
        say(f"PostgreSQL's data is in {target} ({place} links there)")
    elif user is None or reaches(user, data):
        target = place
    elif (place / "PG_VERSION").exists():
        raise StackError(
            f"the {user} user cannot reach the cluster in {place} (a parent directory is "
            "closed to it): open the parents to it, or move the cluster where it can and "
            f"leave a link to it at {place}"
        )
    else:
        target = relocated_cluster(data, user)
        with contextlib.suppress(FileNotFoundError):
            place.rmdir()  # empty: left by a run that stopped here
        place.symlink_to(target, target_is_directory=True)
        say(f"the {user} user cannot reach {data} (a parent directory is closed to it): "
            f"PostgreSQL's data goes to {target}, and {place} links there")  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(target, user, user)
        if not reaches(user, target):
            raise StackError(
                f"the {user} user cannot reach {target}: give it a way there, or set "
                "CRYPTEX_DATABASE_URL"
            )
    return target


def relocated_cluster(data: Path, user: str) -> Path:
    """A new directory for the cluster of `data` in `user`'s home, named after the data dir
    (so that a person listing them can tell which is which) and a random suffix."""
    home = Path(pwd.getpwnam(user).pw_dir) / RELOCATED_CLUSTERS
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.chown(home, user, user)
    slug = "".join(c if c.isalnum() or c in "._" else "-" for c in str(data).strip("/"))
    return home / f"{slug[-60:]}-{secrets.token_hex(4)}"


def start_postgres(sup: Supervisor, port: int, bin_dir: Path) -> tuple[Proc, str, Path]:
    """`initdb` once, then the server on 127.0.0.1 only (no Unix socket, so no path to share).
    Under root it runs as the `postgres` user, started as that user directly so that the pid
    kept is the server's own. Returns the process, its URL and the cluster's directory."""
    user = postgres_user()
    directory = postgres_directory(sup.data, user)
    log_path = sup.logs / "postgres.log"
    if not (directory / "PG_VERSION").exists():
        say(f"initdb {directory}")
        with log_path.open("ab") as log:
            done = subprocess.run(
                [
                    str(bin_dir / "initdb"), "-D", str(directory), "-U", "cryptex",
                    "--auth=trust", "--encoding=UTF8", "--locale=C",
                ],
                stdout=log, stderr=subprocess.STDOUT, user=user, cwd=directory, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"initdb failed:\n{log_tail(log_path)}")
    proc = sup.spawn(
        "postgres",
        [
            str(bin_dir / "postgres"), "-D", str(directory), "-p", str(port),
            "-h", "127.0.0.1", "-c", "unix_socket_directories=",
        ],
        stage=STAGE_STORAGE, stop_signal="SIGINT", user=user, cwd=directory,
    )  # fmt: skip
    return proc, f"postgresql://cryptex@127.0.0.1:{port}/cryptex", directory


def prepare_database(url: str, proc: Proc | None, timeout: float) -> None:
    """Wait for PostgreSQL, create the database of a fresh local cluster, apply migrations."""
    import asyncpg

    from cryptex import db

    async def connect(database: str | None) -> asyncpg.Connection:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if database is None:
                    return await asyncpg.connect(url, timeout=2)
                return await asyncpg.connect(url, database=database, timeout=2)
            except (TimeoutError, OSError, asyncpg.CannotConnectNowError):
                if (proc is not None and not proc.alive()) or time.monotonic() > deadline:
                    detail = f":\n{log_tail(proc.log)}" if proc is not None else ""
                    raise StackError(f"PostgreSQL is not reachable at {url}{detail}") from None
                await asyncio.sleep(0.1)

    async def run() -> list[str]:
        if proc is not None:  # our own cluster: its database may not exist yet
            admin = await connect("postgres")
            try:
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname='cryptex'"):
                    await admin.execute("CREATE DATABASE cryptex")
            finally:
                await admin.close()
        await (await connect(None)).close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        try:
            return await db.migrate(pool)
        finally:
            await pool.close()

    applied = asyncio.run(run())
    say(f"PostgreSQL is up; migrations applied now: {', '.join(applied) or 'none (up to date)'}")


def register_markets(redis_url: str, manifests: dict[str, dict[str, Any]]) -> None:
    """List the markets in the registry, as the operator does for `Market` resources."""
    import redis

    from cryptex import registry
    from cryptex.redis_access import connect

    client = connect(redis_url)
    try:
        for manifest in manifests.values():
            registry.register(client, manifest)
    except redis.ConnectionError as error:
        raise StackError(f"Redis is not reachable at {redis_url}: {error}") from None
    finally:
        client.close()
    say(f"markets listed: {', '.join(manifests)}")


def read_manifests(directory: Path) -> dict[str, dict[str, Any]]:
    import yaml

    from cryptex.markets import MarketSpec

    manifests = {}
    for path in sorted(directory.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        manifests[MarketSpec.from_manifest(manifest).symbol] = manifest
    if not manifests:
        raise StackError(f"no Market manifests in {directory}")
    return dict(sorted(manifests.items()))


def assets(manifests: dict[str, dict[str, Any]]) -> list[str]:
    found = set()
    for manifest in manifests.values():
        found |= {manifest["spec"]["base"]["symbol"], manifest["spec"]["quote"]["symbol"]}
    return sorted(found)


# ------------------------------------------------------------------ accounts


def account(api: str, email: str, password: str, *, sign_up: bool = True) -> tuple[int, str]:
    """Sign up (once) and sign in: (account id, bearer token)."""
    body = {"email": email, "password": password}
    if sign_up:
        status, reply = http_json("POST", f"{api}/api/v1/signup", body)
        if status not in (201, 409):
            raise StackError(f"sign-up of {email}: {status} {reply}")
    status, reply = http_json("POST", f"{api}/api/v1/signin", body)
    if status != 200:
        raise StackError(
            f"sign-in of {email}: {status} {reply} (its password is in credentials.json of the "
            "data dir; a data dir whose PostgreSQL outlived that file needs a fresh start)"
        )
    return int(reply["accountId"]), str(reply["token"])


def fund(api: str, admin_token: str, who: str, account_id: int, amounts: dict[str, str]) -> None:
    """Admin deposits, once per data dir each (the reference makes a repeat a no-op)."""
    for asset, amount in amounts.items():
        transfer = {"account": account_id, "asset": asset, "amount": amount,
                    "reference": f"stack-{who}-{account_id}-{asset}"}  # fmt: skip
        status, reply = http_json("POST", f"{api}/api/v1/admin/deposits", transfer, admin_token)
        if status != 200:
            raise StackError(f"deposit {amount} {asset} to {who}: {status} {reply}")


def funds_for(table: dict[str, str], asset_symbols: Sequence[str]) -> dict[str, str]:
    return {asset: table.get(asset, DEFAULT_FUNDS) for asset in asset_symbols}


def market_maker_funds(manifests: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The bot aims at half its value in each market's base asset, counting an equal share of
    a quote asset that several markets trade: a base holding worth that share (at MM_PRICES)
    starts its market at the target, quoting both sides."""
    sharing: dict[str, int] = {}
    for manifest in manifests.values():
        quote = manifest["spec"]["quote"]["symbol"]
        sharing[quote] = sharing.get(quote, 0) + 1
    funds = dict.fromkeys(assets(manifests), DEFAULT_FUNDS)
    for quote in sharing:
        funds[quote] = str(MM_QUOTE_FUNDS)
    for symbol, manifest in manifests.items():
        spec = manifest["spec"]
        if symbol in MM_PRICES:
            share = Decimal(MM_QUOTE_FUNDS) / sharing[spec["quote"]["symbol"]]
            base = share / Decimal(MM_PRICES[symbol])
            funds[spec["base"]["symbol"]] = str(base.quantize(Decimal(spec["lotSize"])))
    return funds


# ------------------------------------------------------------------ up


def market_maker_available() -> bool:
    try:
        return importlib.util.find_spec("cryptex_mm.__main__") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Wiring:
    """What every service of one run is given."""

    ports: Ports
    redis_url: str
    database_url: str
    jwt_secret: str
    people: dict[str, dict[str, str]]
    symbols: list[str]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports.ws}/"

    def env(self, **settings: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != _REEXEC_MARK}
        env.update(CRYPTEX_REDIS_URL=self.redis_url, CRYPTEX_METRICS_HOST="127.0.0.1")
        return {**env, **{f"CRYPTEX_{name.upper()}": value for name, value in settings.items()}}


def web_built() -> bool:
    return (WEB_BUILD / "index.html").is_file()


def start_services(sup: Supervisor, wiring: Wiring) -> list[Proc]:
    """The engines, the DB processor, the API and the WebSocket server, all at once (each
    waits for what it needs by itself)."""
    ports, python = wiring.ports, sys.executable
    services = []
    for symbol in wiring.symbols:
        port = ports.engines[symbol]
        services.append(sup.spawn(
            f"engine-{symbol}", [python, "-m", "cryptex_engine", "--market", symbol],
            stage=STAGE_CORE, health=f"http://127.0.0.1:{port}/healthz",
            # A fixed instance name takes the market's lease back at once after a restart,
            # instead of waiting for the last run's lease to lapse.
            env=wiring.env(metrics_port=str(port), instance=f"stack-engine-{symbol}"),
        ))  # fmt: skip
    services.append(sup.spawn(
        "dbproc", [python, "-m", "cryptex_dbproc"], stage=STAGE_CORE,
        health=f"http://127.0.0.1:{ports.dbproc}/healthz",
        # The same consumer name again: what it read before a restart is still its own.
        env=wiring.env(database_url=wiring.database_url, metrics_port=str(ports.dbproc),
                       instance="stack-dbproc"),
    ))  # fmt: skip
    admin = wiring.people["admin"]
    # The web app, when built: the API serves it, and tells it where the WebSocket port is.
    web = {"web_dir": str(WEB_BUILD), "web_ws_url": wiring.ws_url} if web_built() else {}
    services.append(sup.spawn(
        "api", [python, "-m", "cryptex_api"], stage=STAGE_EDGE, health=f"{wiring.api_url}/readyz",
        env=wiring.env(
            database_url=wiring.database_url, host="127.0.0.1", port=str(ports.api),
            jwt_secret=wiring.jwt_secret, dev_mode="true", faucet="true", instance="stack-api",
            bootstrap_admin_email=admin["email"], bootstrap_admin_password=admin["password"],
            # One machine signs everyone up and in from one address (tests, load runs).
            logins_per_minute="600", **web,
        ),
    ))  # fmt: skip
    services.append(sup.spawn(
        "ws", [python, "-m", "cryptex_ws"], stage=STAGE_EDGE,
        health=f"http://127.0.0.1:{ports.ws_metrics}/healthz",
        env=wiring.env(host="127.0.0.1", port=str(ports.ws), metrics_port=str(ports.ws_metrics),
                       jwt_secret=wiring.jwt_secret),
    ))  # fmt: skip
    return services


def start_market_maker(
    sup: Supervisor, wiring: Wiring, admin_token: str, manifests: dict[str, dict[str, Any]],
    timeout: float,
) -> dict[str, Any]:  # fmt: skip
    """The bot trades through the public API with an account of its own, funded once."""
    person = wiring.people["mm"]
    mm_id, _ = account(wiring.api_url, person["email"], person["password"])
    fund(wiring.api_url, admin_token, "mm", mm_id, market_maker_funds(manifests))
    settings = {
        "CRYPTEX_MM_API_URL": wiring.api_url, "CRYPTEX_MM_WS_URL": wiring.ws_url,
        "CRYPTEX_MM_EMAIL": person["email"], "CRYPTEX_MM_PASSWORD": person["password"],
        "CRYPTEX_MM_MARKETS": ",".join(wiring.symbols),
        "CRYPTEX_MM_METRICS_HOST": "127.0.0.1", "CRYPTEX_MM_METRICS_PORT": str(wiring.ports.mm),
    }  # fmt: skip
    prices = {s: MM_PRICES[s] for s in wiring.symbols if s in MM_PRICES}
    if prices and "CRYPTEX_MM_PRICES" not in os.environ:  # an empty book gives it no price
        settings["CRYPTEX_MM_PRICES"] = ",".join(f"{s}={p}" for s, p in prices.items())
    env = {**wiring.env(), **settings}  # other CRYPTEX_MM_ settings pass through
    proc = sup.spawn(
        "mm", [sys.executable, "-m", "cryptex_mm"], stage=STAGE_MM, env=env,
        health=f"http://127.0.0.1:{wiring.ports.mm}/healthz",
    )  # fmt: skip
    sup.wait_healthy([proc], timeout)
    return {**person, "account": mm_id}


def monitoring_binaries() -> dict[str, str | None]:
    """Debian package -> the path of its binary (None: not installed)."""
    found: dict[str, str | None] = {}
    for package, names in MONITORING_DEBS.items():
        found[package] = next((path for n in names if (path := shutil.which(n))), None)
    return found


def start_monitoring(
    sup: Supervisor, wiring: Wiring, services: Sequence[Proc], args: argparse.Namespace
) -> dict[str, Any]:
    """The exporters of Redis and PostgreSQL, Alertmanager with the webhook receiver that
    writes alerts.log, and Prometheus scraping every process of the run with the chart's rules.
    Data under <data dir>/prometheus and <data dir>/alertmanager; configuration, generated at
    each `up`, under <data dir>/monitoring."""
    binaries = monitoring_binaries()
    ports, interval = wiring.ports, args.monitoring_interval
    config = sup.data / "monitoring"
    config.mkdir(parents=True, exist_ok=True)
    local = "127.0.0.1"
    from cryptex import keys
    from cryptex.redis_access import is_sentinel

    # The exporter reads one Redis: with --ha, the primary as started (after a failover it
    # reports that server as a replica).
    exporter_target = (
        f"redis://{local}:{ports.redis}/0" if is_sentinel(wiring.redis_url) else wiring.redis_url
    )
    exporters = [
        sup.spawn(
            "redis-exporter",
            [str(binaries["prometheus-redis-exporter"]), "-redis.addr", exporter_target,
             "-web.listen-address", f"{local}:{ports.redis_exporter}",
             "-check-streams", ",".join(keys.MARKET_STREAM_PATTERNS)],
            stage=STAGE_EDGE, health=f"http://{local}:{ports.redis_exporter}/metrics",
        ),
        sup.spawn(
            "postgres-exporter",
            [str(binaries["prometheus-postgres-exporter"]),
             f"--web.listen-address={local}:{ports.postgres_exporter}"],
            stage=STAGE_EDGE, health=f"http://{local}:{ports.postgres_exporter}/metrics",
            env={**os.environ, "DATA_SOURCE_NAME": with_query(wiring.database_url,
                                                              "sslmode=disable")},
        ),
    ]  # fmt: skip
    alerts_log = sup.logs / "alerts.log"
    sink = sup.spawn(
        "alert-sink",
        [sys.executable, str(Path(__file__).with_name("alert_sink.py")),
         "--port", str(ports.alert_sink), "--log", str(alerts_log)],
        stage=STAGE_EDGE, health=f"http://{local}:{ports.alert_sink}/healthz",
    )  # fmt: skip
    alertmanager_yml = config / "alertmanager.yml"
    alertmanager_yml.write_text(monitoring.dump(monitoring.alertmanager_config(
        f"http://{local}:{ports.alert_sink}/", interval_s=interval
    )))  # fmt: skip
    (sup.data / "alertmanager").mkdir(exist_ok=True)
    alertmanager = sup.spawn(
        "alertmanager",
        [str(binaries["prometheus-alertmanager"]), f"--config.file={alertmanager_yml}",
         f"--storage.path={sup.data / 'alertmanager'}",
         f"--web.listen-address={local}:{ports.alertmanager}",
         "--cluster.listen-address="],  # one instance: no gossip port
        stage=STAGE_EDGE, health=f"http://{local}:{ports.alertmanager}/-/ready",
    )  # fmt: skip
    rules = config / "rules.yaml"
    rules.write_text(monitoring.dump(monitoring.render_rules(
        len(wiring.symbols), hold=args.alert_for, thresholds=dict(args.alert_threshold)
    )))  # fmt: skip
    prometheus_yml = config / "prometheus.yml"
    prometheus_yml.write_text(monitoring.dump(monitoring.prometheus_config(
        scrape_targets(wiring, services), interval_s=interval,
        alertmanager=f"{local}:{ports.alertmanager}", rule_file=rules,
    )))  # fmt: skip
    (sup.data / "prometheus").mkdir(exist_ok=True)
    prometheus = sup.spawn(
        "prometheus",
        [str(binaries["prometheus"]), f"--config.file={prometheus_yml}",
         f"--storage.tsdb.path={sup.data / 'prometheus'}",
         f"--web.listen-address={local}:{ports.prometheus}", "--web.enable-lifecycle"],
        # First to stop: stopping the stack must not look like an outage to the alerts.
        stage=STAGE_MM, health=f"http://{local}:{ports.prometheus}/-/ready",
    )  # fmt: skip
    sup.wait_healthy([*exporters, sink, alertmanager, prometheus], args.timeout)
    return {
        "prometheus": f"http://{local}:{ports.prometheus}",
        "alertmanager": f"http://{local}:{ports.alertmanager}",
        "alerts_log": str(alerts_log), "interval_s": interval,
    }  # fmt: skip


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def scrape_targets(wiring: Wiring, services: Sequence[Proc]) -> list[monitoring.Target]:
    """Every process of the run that serves /metrics, under its chart job name."""
    ports, local = wiring.ports, "127.0.0.1"
    running = {proc.name for proc in services}
    targets = [
        monitoring.Target("engine", f"engine-{symbol}", f"{local}:{port}")
        for symbol, port in ports.engines.items()
    ]
    targets += [
        monitoring.Target("api", "api", f"{local}:{ports.api}"),
        monitoring.Target("ws", "ws", f"{local}:{ports.ws_metrics}"),
        monitoring.Target("dbproc", "dbproc", f"{local}:{ports.dbproc}"),
        monitoring.Target("redis", "redis", f"{local}:{ports.redis_exporter}"),
        monitoring.Target("postgres", "postgres", f"{local}:{ports.postgres_exporter}"),
    ]
    if "mm" in running:
        targets.append(monitoring.Target("mm", "mm", f"{local}:{ports.mm}"))
    return targets


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def up(args: argparse.Namespace) -> int:
    data: Path = args.data_dir.resolve()
    running = [p for p in read_pids(data) if p.alive()]
    if running:
        raise StackError(
            f"a stack already runs from {data} ({', '.join(p.name for p in running)}): "
            "stop it first (make down, or stack.py down)"
        )
    ensure_venv(args.venv.resolve())
    data.mkdir(parents=True, exist_ok=True)
    (data / "pids").unlink(missing_ok=True)  # from a stack that died without stopping
    manifests = read_manifests(args.markets)
    redis_url = os.environ.get("CRYPTEX_REDIS_URL") or None
    database_url = os.environ.get("CRYPTEX_DATABASE_URL") or None
    pg_bin = postgres_bin_dir(args.pg_bin)
    missing = []
    if redis_url is None and shutil.which("redis-server") is None:
        missing.append("redis-server")
    if args.ha and redis_url is not None:
        raise StackError("--ha runs its own Redis and Sentinels: unset CRYPTEX_REDIS_URL")
    if database_url is None and pg_bin is None:
        missing.append("postgresql")
    if not args.no_monitoring:
        missing += [deb for deb, path in monitoring_binaries().items() if path is None]
    install_packages(missing, allowed=not args.no_install)
    if database_url is None and pg_bin is None:
        pg_bin = postgres_bin_dir(args.pg_bin)
        if pg_bin is None:
            raise StackError("PostgreSQL's binaries are not found: pass --pg-bin")

    sup = Supervisor(data)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_interrupted)
    detached = False
    try:
        started = time.monotonic()
        ports = choose_ports(args, data, list(manifests))
        redis_proc = postgres_proc = postgres_data = None
        redis_servers: list[str] = []
        if redis_url is None:
            redis_proc, redis_url = start_redis(sup, ports.redis)
            redis_servers.append(redis_url)
        if database_url is None:
            assert pg_bin is not None
            postgres_proc, database_url, postgres_data = start_postgres(sup, ports.postgres, pg_bin)
        if redis_proc is not None:
            wait_redis(redis_proc, redis_url, args.timeout)
        if args.ha:
            replica, replica_url = start_redis(
                sup, ports.redis_replica, name="redis-replica", replica_of=ports.redis
            )
            wait_redis(replica, replica_url, args.timeout)
            redis_servers.append(replica_url)
            redis_url = start_sentinels(sup, ports)
            wait_sentinels(ports, args.timeout)
        prepare_database(database_url, postgres_proc, args.timeout)
        register_markets(redis_url, manifests)
        wiring = Wiring(
            ports, redis_url, database_url,
            jwt_secret=kept_secret(data / "jwt-secret", lambda: secrets.token_urlsafe(48)),
            people=credentials(data), symbols=list(manifests),
        )  # fmt: skip
        sup.wait_healthy(start_services(sup, wiring), args.timeout)

        # The API made the admin (its bootstrap settings).
        admin, demo = wiring.people["admin"], wiring.people["demo"]
        admin_id, admin_token = account(
            wiring.api_url, admin["email"], admin["password"], sign_up=False
        )
        demo_id, demo_token = account(wiring.api_url, demo["email"], demo["password"])
        asset_symbols = assets(manifests)
        demo_funds = funds_for(DEMO_FUNDS, asset_symbols)
        fund(wiring.api_url, admin_token, "demo", demo_id, demo_funds)
        mm: dict[str, Any] | None = None
        if args.no_mm:
            say("market maker not started (--no-mm)")
        elif not market_maker_available():
            hint = ""
            if (ROOT / "images" / "mm" / "cryptex_mm" / "__main__.py").exists():
                hint = " (images/mm has it: run `make install` to pick it up)"
            say(f"market maker not started: cryptex_mm.__main__ is not importable{hint}")
        else:
            mm = start_market_maker(sup, wiring, admin_token, manifests, args.timeout)
        watching: dict[str, Any] | None = None
        if args.no_monitoring:
            say("Prometheus and Alertmanager not started (--no-monitoring)")
        else:
            watching = start_monitoring(sup, wiring, sup.procs, args)

        if not web_built():
            say("the web app is not built (`make web`, which `make up` runs): no page at /")
        state = {
            "web": f"{wiring.api_url}/" if web_built() else None,
            "api": wiring.api_url, "ws": wiring.ws_url, "redis": redis_url,
            "redis_servers": redis_servers,
            "database": database_url, "markets": wiring.symbols, "ports": asdict(ports),
            "logs": str(sup.logs), "postgres_data": postgres_data and str(postgres_data),
            "admin": {**wiring.people["admin"], "account": admin_id, "token": admin_token},
            "demo": {**wiring.people["demo"], "account": demo_id, "token": demo_token,
                     "funded": demo_funds},
            "mm": mm, "monitoring": watching, "started_in_s": round(time.monotonic() - started, 1),
        }  # fmt: skip
        write_private(data / "stack.json", json.dumps(state, indent=2))
        print(summary(state, data, ports, detach=args.detach), flush=True)
        if args.detach:
            sup.save_pids(with_supervisor=False)
            detached = True
            return 0
        watch(sup)
    except Interrupted:
        pass
    finally:
        if not detached:
            for signum in STOP_SIGNALS:  # stopping in order takes a moment
                signal.signal(signum, signal.SIG_IGN)
            sup.stop()
            say(f"stopped; `up` again resumes from {data}")
    return 0


def watch(sup: Supervisor) -> None:
    """Until interrupted: say once when a process exits on its own."""
    reported: set[str] = set()
    while True:
        time.sleep(0.5)
        for proc in sup.procs:
            if proc.name not in reported and not proc.alive():
                reported.add(proc.name)
                code = proc.popen.returncode if proc.popen else "?"
                say(f"{proc.name} exited (code {code}); the end of {proc.log}:")
                print(log_tail(proc.log), file=sys.stderr, flush=True)


def monitoring_summary(state: dict[str, Any], display: Path, data: Path) -> str:
    watching = state["monitoring"]
    if watching is None:
        return "  monitoring  not running (--no-monitoring)\n"
    log = Path(watching["alerts_log"])
    shown = display / log.relative_to(data) if log.is_relative_to(data) else log
    return (
        f"  Prometheus  {watching['prometheus']}   (alerts: {watching['prometheus']}/alerts)\n"
        f"  Alertmanager {watching['alertmanager']}   (notifications: {shown})\n"
    )


def summary(state: dict[str, Any], data: Path, ports: Ports, *, detach: bool) -> str:
    display = data.relative_to(ROOT) if data.is_relative_to(ROOT) else data
    engines = ", ".join(f"{s} :{p}" for s, p in ports.engines.items())
    demo = state["demo"]
    funded = ", ".join(f"{amount} {asset}" for asset, amount in demo["funded"].items())
    mm = state["mm"]
    database = state["database"]
    if state["postgres_data"] and Path(state["postgres_data"]) != data / "postgres":
        database += f"   (data in {state['postgres_data']}; {display}/postgres links there)"
    down = (
        "`make down`"
        if data == DEFAULT_DATA_DIR
        else f"python3 hack/stack/stack.py down --data-dir {data}"
    )
    stop = (
        f"Stop it with {down}."
        if detach
        else "Ctrl-C stops everything; `make up` again resumes with every balance and order."
    )
    web = state["web"] or "not built: run `make web`, then `up` again"
    servers = state.get("redis_servers", [])
    ha_line = (
        f"\n              primary and replica: {', '.join(servers)}" if len(servers) > 1 else ""
    )
    return f"""
Cryptex is up in {state["started_in_s"]}s (data in {display}, logs in {display}/logs)
  Web app     {web}
  REST        {state["api"]}/api/v1   (OpenAPI: {state["api"]}/docs)
  WebSocket   {state["ws"]}
  markets     {", ".join(state["markets"])}
  Redis       {state["redis"]}{ha_line}
  PostgreSQL  {database}
  metrics     engines {engines}; dbproc :{ports.dbproc}; ws :{ports.ws_metrics}; api /metrics
  market maker {"account " + str(mm["account"]) if mm else "not running"}
{monitoring_summary(state, display, data)}
Admin ({state["admin"]["email"]}; POST /api/v1/admin/deposits and /withdrawals):
  export ADMIN={state["admin"]["token"]}
Demo trader: account {demo["account"]}, {demo["email"]} / {demo["password"]} (a web app sign-in),
  funded with {funded}
  export TOKEN={demo["token"]}
  export API={state["api"]} WS={state["ws"]} CRYPTEX_REDIS_URL={state["redis"]}

{stop}"""


# ------------------------------------------------------------------ down, status


def down(args: argparse.Namespace) -> int:
    data: Path = args.data_dir.resolve()
    procs = read_pids(data)
    if not any(p.alive() for p in procs):
        (data / "pids").unlink(missing_ok=True)
        say(f"no stack runs from {data}")
        return 0
    supervisor = [p for p in procs if p.stage == STAGE_SUPERVISOR and p.alive()]
    if supervisor:  # a foreground `up`: it stops its own processes in order
        say(f"asking the supervisor (pid {supervisor[0].pid}) to stop the stack")
        supervisor[0].signal(signal.SIGTERM)
        deadline = time.monotonic() + 4 * STOP_TIMEOUT_S
        while supervisor[0].alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    left = [p for p in procs if p.stage != STAGE_SUPERVISOR and p.alive()]
    if left:
        say("stopping: " + stop_order(left))
    stop_all([p for p in procs if p.stage != STAGE_SUPERVISOR])
    stop_all(supervisor)
    (data / "pids").unlink(missing_ok=True)
    say(f"stopped; `up` again resumes from {data}")
    return 0


def wipe(args: argparse.Namespace) -> int:
    """Delete a stopped stack's data: the data dir, and the cluster its `postgres` links to
    (kept outside when the postgres user cannot reach the data dir)."""
    data: Path = args.data_dir.resolve()
    running = [p for p in read_pids(data) if p.alive()]
    if running:
        raise StackError(f"a stack runs from {data}: stop it first (make down, or stack.py down)")
    link = data / "postgres"
    if link.is_symlink():
        cluster = Path(os.readlink(link))
        shutil.rmtree(cluster, ignore_errors=True)
        say(f"removed {cluster}")
    if data.exists():
        shutil.rmtree(data)
        say(f"removed {data}")
    return 0


def status(args: argparse.Namespace) -> int:
    data: Path = args.data_dir.resolve()
    procs = [p for p in read_pids(data) if p.stage != STAGE_SUPERVISOR]
    rows = []
    for proc in procs:
        alive = proc.alive()
        health = http_status(proc.health) if (alive and proc.health) else None
        ok = alive and (proc.health is None or health == 200)
        rows.append({"name": proc.name, "pid": proc.pid, "alive": alive, "health": health,
                     "ok": ok, "log": proc.log})  # fmt: skip
    healthy = bool(rows) and all(row["ok"] for row in rows)
    if args.json:
        print(json.dumps({"running": bool(rows), "healthy": healthy, "processes": rows}))
    elif not rows:
        print(f"no stack runs from {data}")
    else:
        for row in rows:
            state = "ok" if row["ok"] else ("unhealthy" if row["alive"] else "exited")
            print(f"{row['name']:<18} pid {row['pid']:<8} {state:<10} {row['log']}")
    return 0 if healthy else 1


# ------------------------------------------------------------------ command line


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="stack.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR,
            help="Redis and PostgreSQL data, secrets, logs and pids (default: .cryptex/)",
        )  # fmt: skip
        return sub

    start = with_data_dir(commands.add_parser("up", help="start the stack (Ctrl-C stops it)"))
    start.add_argument("--detach", action="store_true", help="return once healthy")
    start.add_argument("--api-port", type=int, help=f"REST (default {DEFAULT_PORTS['api']})")
    start.add_argument("--ws-port", type=int, help=f"WebSocket (default {DEFAULT_PORTS['ws']})")
    start.add_argument("--redis-port", type=int, help=f"default {DEFAULT_PORTS['redis']}")
    start.add_argument("--postgres-port", type=int, help=f"default {DEFAULT_PORTS['postgres']}")
    start.add_argument(
        "--metrics-port", type=int,
        help=f"first of the metrics ports: dbproc, ws, mm, then one per engine "
        f"(default {DEFAULT_PORTS['metrics']})",
    )  # fmt: skip
    start.add_argument(
        "--free-ports", action="store_true",
        help="free ports for every port not given (a second stack, tests); a later `up` "
        "without port options reuses the last run's ports",
    )  # fmt: skip
    start.add_argument("--markets", type=Path, default=DEFAULT_MARKETS, help="Market manifests")
    start.add_argument("--no-mm", action="store_true", help="do not start the market maker")
    start.add_argument(
        "--ha", action="store_true",
        help="Redis with a replica and three Sentinels; the services follow a failover",
    )  # fmt: skip
    start.add_argument(
        "--no-monitoring", action="store_true",
        help="do not start Prometheus, Alertmanager and the Redis and PostgreSQL exporters",
    )  # fmt: skip
    start.add_argument(
        "--monitoring-interval", type=float, default=5.0,
        help="seconds between scrapes and rule evaluations; Alertmanager's waits (default 5)",
    )  # fmt: skip
    start.add_argument(
        "--alert-for", metavar="DURATION",
        help="every alert rule's `for` (e.g. 5s; tests): default, the chart's own",
    )  # fmt: skip
    start.add_argument(
        "--alert-threshold", metavar="NAME=VALUE", action="append", default=[],
        type=lambda text: tuple(text.split("=", 1)),
        help="a threshold of the chart's monitoring.alerts values (repeatable; tests)",
    )  # fmt: skip
    start.add_argument("--no-install", action="store_true", help="never run apt-get")
    start.add_argument("--pg-bin", type=Path, help="PostgreSQL's bin directory")
    start.add_argument("--venv", type=Path, default=ROOT / ".venv", help="(default: .venv)")
    start.add_argument("--timeout", type=float, default=90, help="seconds to become healthy")
    with_data_dir(commands.add_parser("down", help="stop a stack (started with --detach)"))
    show = with_data_dir(commands.add_parser("status", help="its processes and their health"))
    with_data_dir(commands.add_parser("wipe", help="delete a stopped stack's data, for a new one"))
    show.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    actions: dict[str, Callable[[argparse.Namespace], int]] = {
        "up": up, "down": down, "status": status, "wipe": wipe,
    }  # fmt: skip
    try:
        return actions[args.command](args)
    except StackError as error:
        say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
