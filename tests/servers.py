"""Real servers for tests: started on free loopback ports in temp dirs, stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
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
        self, directory: Path, *, appendfsync: str = "always", appendonly: bool = True
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.appendfsync = appendfsync
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

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
