"""KMock's Kubernetes emulator, with the bookkeeping a real API server does and KMock leaves out:
uid, resourceVersion (kopf patches with a resourceVersion test), generation (bumped by a spec
change, never by status), creationTimestamp, and names for `generateName` (kopf's events).

Nothing here runs controllers: the tests play the Deployment controller and the kubelet."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import attrs
import kmock

MARKETS = kmock.resource("cryptex.io/v1alpha1/markets")
DEPLOYMENTS = kmock.resource("apps/v1/deployments")
SERVICES = kmock.resource("v1/services")
EVENTS = kmock.resource("v1/events")
CRDS = kmock.resource("apiextensions.k8s.io/v1/customresourcedefinitions")
NAMESPACES = kmock.resource("v1/namespaces")


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    # Called with every request before it is served (the tests look at Redis at that moment).
    on_request: Callable[[kmock.Request], None] | None = None
    _revisions: Iterator[int] = attrs.field(factory=lambda: itertools.count(1), init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        info = kmock.ResourceInfo
        self.resources[MARKETS] = info(
            kind="Market", namespaced=True, subresources={"status"},
            verbs={"list", "watch", "patch"},
        )  # fmt: skip
        self.resources[DEPLOYMENTS] = info(kind="Deployment", namespaced=True)
        self.resources[SERVICES] = info(kind="Service", namespaced=True)
        self.resources[EVENTS] = info(kind="Event", namespaced=True)
        # kopf waits for both to be discoverable before it watches anything.
        self.resources[CRDS] = info(kind="CustomResourceDefinition", namespaced=False)
        self.resources[NAMESPACES] = info(kind="Namespace", namespaced=False)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if self.on_request is not None:
            self.on_request(request)
        revision = str(next(self._revisions))
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if "name" not in meta and "generateName" in meta:
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.update(generation=1, resourceVersion=revision)
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif request.action == kmock.action.UPDATE and isinstance(request.data, list):
            request.data.append(
                {"op": "replace", "path": "/metadata/resourceVersion", "value": revision}
            )
        elif request.action == kmock.action.UPDATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            meta["resourceVersion"] = revision
            resource, name = request.resource, request.name
            if "spec" in request.data and request.subresource is None and resource and name:
                stored = self.current(resource, request.namespace, name)
                if stored is not None:
                    meta["generation"] = stored["metadata"].get("generation", 0) + 1
        return await super()._handle(request)

    def current(
        self, resource: kmock.resource, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """The object as stored now (None: never made, or deleted)."""
        key = (resource, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        raw: dict[str, Any] = json.loads(json.dumps(self.objects[key].raw))
        return raw

    def versions(self, resource: kmock.resource, namespace: str, name: str) -> list[dict[str, Any]]:
        """Every version the object had, oldest first (deletions left out)."""
        history = self.objects[resource, namespace, name].history
        return [json.loads(json.dumps(version.raw)) for version in history if version is not None]

    def event_reasons(self) -> list[str]:
        return [request.data["reason"] for request in self["post", EVENTS]]


def write_kubeconfig(path: Path, server: str, namespace: str) -> Path:
    """A kubeconfig for `server` without credentials (KMock asks for none)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": server}}],
        "users": [{"name": "operator", "user": {}}],
        "contexts": [
            {
                "name": "kmock",
                "context": {"cluster": "kmock", "user": "operator", "namespace": namespace},
            }
        ],
        "current-context": "kmock",
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


class Client:
    """What `kubectl` and the controllers do in these tests, over HTTP."""

    def __init__(self, server: str) -> None:
        self.server = server.rstrip("/")
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._send("POST", path, body, "application/json")

    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._send("PATCH", path, body, "application/merge-patch+json")

    async def delete(self, path: str) -> dict[str, Any]:
        return await self._send("DELETE", path, None, "application/json")

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, content_type: str
    ) -> dict[str, Any]:
        async with self.session.request(
            method, self.server + path, json=body, headers={"Content-Type": content_type}
        ) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
            if response.status >= 300:
                raise ApiError(response.status, answer)
            return answer


class ApiError(Exception):
    def __init__(self, status: int, answer: dict[str, Any]) -> None:
        super().__init__(f"{status}: {answer.get('message')}")
        self.status = status
