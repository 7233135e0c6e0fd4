"""`cryptex-operator` (or `python -m cryptex_operator`): one engine per `Market` resource."""

from __future__ import annotations

import kopf

from cryptex import logs
from cryptex.settings import load
from cryptex_operator.handlers import build_registry
from cryptex_operator.settings import OperatorSettings


def main() -> None:
    settings = load(OperatorSettings)
    logs.configure(settings.log_level)
    namespaces = settings.watched_namespaces
    kopf.run(
        registry=build_registry(settings),
        memo=kopf.Memo(settings=settings),
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=(
            f"http://{settings.metrics_host}:{settings.liveness_port}/healthz"
            if settings.liveness_port
            else None
        ),
    )


if __name__ == "__main__":
    main()
