"""The few Kubernetes API calls the operator makes besides kopf's own: get, create, merge-patch
and delete of the engines' Deployments and Services.

It signs in the way kopf does (`login`, the same service account or kubeconfig), over aiohttp,
which kopf brings anyway; a 401 signs in again once, as a rotated token requires. `close` is
final: a call after it (a handler that outlived the operator's cleanup) is refused, never given
a client session that nothing would close.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import kopf


@dataclass(frozen=True, slots=True)
class Kind:
    api_version: str  # `apps/v1`, or `v1` for the core group
    plural: str

    def path(self, namespace: str, name: str | None = None) -> str:
        root = "/api" if "/" not in self.api_version else "/apis"
        path = f"{root}/{self.api_version}/namespaces/{namespace}/{self.plural}"
        return path if name is None else f"{path}/{name}"


DEPLOYMENTS: Final = Kind("apps/v1", "deployments")
SERVICES: Final = Kind("v1", "services")

_MERGE_PATCH: Final = {"Content-Type": "application/merge-patch+json"}
_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)


class KubeClosedError(RuntimeError):
    """A call after `close`."""


class KubeError(RuntimeError):
    """The API server refused a request (anything but the 404 that `get` and `delete` expect)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"Kubernetes API answered {status}: {text[:500]}")
        self.status = status


def login(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    """In a pod its service account, elsewhere the current kubeconfig context."""
    return kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )


class KubeApi:
    def __init__(self, credentials: Callable[[], kopf.ConnectionInfo | None]) -> None:
        self._credentials = credentials
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        status, body = await self._request("GET", kind.path(namespace, name))
        if status == 404:
            return None
        return self._object(status, body)

    async def create(self, kind: Kind, namespace: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        status, body = await self._request("POST", kind.path(namespace), json.dumps(obj))
        return self._object(status, body)

    async def patch(
        self, kind: Kind, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON merge patch: mappings merge, lists are replaced whole."""
        status, body = await self._request(
            "PATCH", kind.path(namespace, name), json.dumps(patch), _MERGE_PATCH
        )
        return self._object(status, body)

    async def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        """Whether there was something to delete."""
        status, body = await self._request("DELETE", kind.path(namespace, name))
        if status == 404:
            return False
        self._object(status, body)
        return True

    async def close(self) -> None:
        self._closed = True
        await self._drop_session()

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------------ transport

    async def _request(
        self,
        method: str,
        path: str,
        data: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        for attempt in (1, 2):
            session, info = await self._connect(fresh=attempt == 2)
            sent = {"Content-Type": "application/json", **info.as_http_headers(), **(headers or {})}
            url = info.server.rstrip("/") + path
            async with session.request(
                method, url, data=data, headers=sent, proxy=info.proxy_url
            ) as response:
                text = await response.text()
                if response.status != 401 or attempt == 2:
                    return response.status, text
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self, *, fresh: bool) -> tuple[aiohttp.ClientSession, kopf.ConnectionInfo]:
        if fresh or self._session is None or self._info is None:
            await self._drop_session()
            # After that await: `close` may have come meanwhile. A closed client has no session.
            if self._closed:
                raise KubeClosedError("the Kubernetes client is closed: the operator is stopping")
            info = self._credentials()
            if info is None:
                raise kopf.LoginError("no service account and no kubeconfig to sign in with")
            context: ssl.SSLContext | bool = (
                info.as_ssl_context() if info.server.startswith("https:") else False
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context),
                timeout=_TIMEOUT,
                trust_env=info.trust_env,
            )
            self._info = info
        return self._session, self._info

    @staticmethod
    def _object(status: int, body: str) -> dict[str, Any]:
        if not 200 <= status < 300:
            raise KubeError(status, body)
        obj: dict[str, Any] = json.loads(body)
        return obj
