"""JSON request bodies whose numbers stay the text the client sent: `0.1` is never a float
here, and `1e309` reaches the money rules as written instead of as infinity. Every router of
the API uses `ExactJsonRoute`."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _literal_constant(name: str) -> str:
    return name  # NaN, Infinity: kept as text so the money rules refuse them by name


def loads(raw: bytes) -> Any:
    """JSON with every number as the text it was written in (raises json.JSONDecodeError)."""
    return json.loads(raw, parse_float=str, parse_int=str, parse_constant=_literal_constant)


class ExactJsonRequest(Request):
    """JSON whose numbers stay the text the client sent: `0.1` is never a float here, and
    `1e309` reaches the money rules as written instead of as infinity."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # A JSONDecodeError goes on to FastAPI, which reports it as a validation error.
            self._json = loads(await self.body())
        return self._json


class ExactJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJsonRequest(request.scope, request.receive))

        return exact
