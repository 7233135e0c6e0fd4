"""`Market` resources as the API server hands them to the operator, from the CRD's examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"


def resource(name: str = "sol-usdc", **spec: Any) -> dict[str, Any]:
    """The example `name` as stored: namespace, uid and generation set, `spec` overriding."""
    with (EXAMPLES / f"{name}.yaml").open(encoding="utf-8") as stream:
        body: dict[str, Any] = yaml.safe_load(stream)
    body["metadata"].update(namespace="cryptex", uid=f"uid-{name}", generation=1)
    body["spec"].update(copy.deepcopy(spec))
    return body
