"""Real servers for tests: started on free loopback ports in temp dirs, stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A `redis-server` with AOF on (unless `appendonly` is False: a benchmark of something
    else), restartable from its own data directory."""

    def __init__(
        self, directory: Path, *, appendfsync: str = "always", appendonly: bool = True,
        replica_of: int | None = None,
    ) -> None:  # fmt: skip
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.appendfsync = appendfsync
        self.appendonly = appendonly
        self.replica_of = replica_of  # the primary's port: a replica from its first start
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _replication(self) -> list[str]:
        return [] if self.replica_of is None else ["--replicaof", "127.0.0.1", str(self.replica_of)]

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log_path = self.directory / "redis.log"
        with log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", str(self.directory),
                    "--appendonly", "yes" if self.appendonly else "no",
                    "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
                    *self._replication(),
                ],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: see {log_path}") from None
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop by pid: SIGTERM lets it finish writing, SIGKILL is a crash."""
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresServer:
    """A PostgreSQL 15 cluster made by `initdb` in a temp dir, on a free loopback port.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user that
    Debian's package creates (started as that user directly, so the pid we stop is the
    server's), and its directory is handed to that user."""

    def __init__(self, directory: Path) -> None:
        if not (POSTGRES_BIN / "postgres").exists():
            raise RuntimeError("PostgreSQL 15 is not installed (apt-get install postgresql)")
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://cryptex@127.0.0.1:{self.port}/cryptex"

    @property
    def _user(self) -> str | None:
        """Whom the server runs as: `postgres` under root (so its pid is the server's own)."""
        return "postgres" if os.geteuid() == 0 else None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if not self.data.exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "cryptex",
                    "--auth=trust", "--encoding=UTF8", "--no-sync",
                ],
                check=True, capture_output=True, user=self._user, cwd=self.directory,
            )  # fmt: skip
        log_path = self.directory / "postgres.log"
        with log_path.open("ab") as log:
            if os.geteuid() == 0:
                shutil.chown(log_path, "postgres", "postgres")
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                    "-h", "127.0.0.1", "-k", str(self.directory), "-c", "fsync=off",
                    "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                ],
                stdout=log, stderr=subprocess.STDOUT, user=self._user, cwd=self.directory,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(POSTGRES_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True, check=False,
            )  # fmt: skip
            if ready.returncode == 0:
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start: see {log_path}")
            time.sleep(0.05)
        subprocess.run(
            [str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p",
             str(self.port), "-U", "cryptex", "cryptex"],
            capture_output=True, check=False,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop by pid; SIGINT is PostgreSQL's fast shutdown."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class RedisSentinels:
    """Redis with high availability, as the chart's `redis.ha` and `make up --ha` run it: a
    primary, one replica, and three Sentinels (`redis-server --sentinel`) that agree (quorum 2)
    on a failover after the primary is unreachable for `down_after_ms`."""

    PRIMARY_NAME = "cryptex"

    def __init__(self, directory: Path, *, down_after_ms: int = 1000) -> None:
        self.directory = directory
        self.primary = RedisServer(directory / "primary")
        self.replica = RedisServer(directory / "replica", replica_of=self.primary.port)
        self.down_after_ms = down_after_ms
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.PRIMARY_NAME}/0"

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        for index, port in enumerate(self.sentinel_ports):
            home = self.directory / f"sentinel-{index}"
            home.mkdir(parents=True, exist_ok=True)
            config = home / "sentinel.conf"  # Sentinel rewrites it: its own copy
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {home}\n"
                f"sentinel monitor {self.PRIMARY_NAME} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.PRIMARY_NAME} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.PRIMARY_NAME} 10000\n"
            )
            with (home / "sentinel.log").open("ab") as log:
                self.sentinels.append(subprocess.Popen(
                    [self.primary.binary, str(config), "--sentinel"],
                    stdout=log, stderr=subprocess.STDOUT,
                ))  # fmt: skip
        self.wait(lambda: self.replica_synced() and self.sentinels_agree(self.primary.port))

    def wait(self, condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Sentinel: not ready, see {self.directory}")
            time.sleep(0.1)

    def replica_synced(self) -> bool:
        try:
            with self.replica.client() as client:
                info = client.info("replication")
        except redis.ConnectionError:
            return False
        return bool(info.get("role") == "slave" and info.get("master_link_status") == "up")

    def primary_port(self, sentinel_port: int) -> int | None:
        try:
            with redis.Redis(port=sentinel_port, socket_timeout=1) as client:
                reply = client.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.PRIMARY_NAME
                )
        except redis.ConnectionError:
            return None
        return int(reply[1]) if reply else None

    def sentinels_agree(self, port: int) -> bool:
        """Every Sentinel names `port` as the primary and knows the other two and the replica."""
        for sentinel_port in self.sentinel_ports:
            if self.primary_port(sentinel_port) != port:
                return False
            with redis.Redis(port=sentinel_port, socket_timeout=1) as client:
                master = client.sentinel_master(self.PRIMARY_NAME)
            if int(master["num-other-sentinels"]) < 2 or int(master["num-slaves"]) < 1:
                return False
        return True

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.terminate()
            try:
                sentinel.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sentinel.kill()
                sentinel.wait()
        self.sentinels = []
        self.replica.stop()
        self.primary.stop()
