"""The operator's settings, from `CRYPTEX_` environment variables, built once in `__main__` and
handed to every handler through `kopf.Memo`."""

from __future__ import annotations

from pydantic import Field, field_validator

from cryptex.settings import CommonSettings


class OperatorSettings(CommonSettings):
    namespaces: str = Field(
        description="comma-separated namespaces whose Markets this operator runs, or * for all"
    )
    # What the engine pods connect to; the operator's own `redis_url` when unset (the operator may
    # reach Redis another way, e.g. through a port-forward while developing).
    engine_redis_url: str | None = None
    # `secret/key`: the engines read CRYPTEX_REDIS_URL from this Secret instead of a plain value,
    # for a URL that carries a password.
    engine_redis_url_secret: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+/[\w.-]+$")
    engine_metrics_port: int = Field(default=9101, ge=1, le=65535)
    engine_run_as_user: int = Field(default=10001, ge=1)  # the engine image's non-root user
    status_interval_s: float = Field(default=15.0, gt=0)  # heartbeat and readiness refresh
    ack_wait_s: float = Field(default=5.0, gt=0, le=60)  # one handler call waits this long
    retry_delay_s: float = Field(default=5.0, gt=0)  # then kopf calls it again after this
    # Delete a market's event stream only once the DB processor has read every entry of it:
    # trades live nowhere else until dbproc has written them to PostgreSQL.
    drain_events: bool = True
    liveness_port: int | None = Field(default=8080, ge=1, le=65535)

    @field_validator("namespaces")
    @classmethod
    def _some_namespace(cls, value: str) -> str:
        if not any(name.strip() for name in value.split(",")):
            raise ValueError("name at least one namespace, or * for every namespace")
        return value

    @property
    def watched_namespaces(self) -> list[str]:
        """The namespaces to watch; empty means every namespace (cluster-wide)."""
        names = [name.strip() for name in self.namespaces.split(",") if name.strip()]
        return [] if names == ["*"] else names

    @property
    def engine_redis(self) -> str:
        return self.engine_redis_url or self.redis_url
