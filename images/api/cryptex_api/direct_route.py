"""A route for the hottest path, placing an order, that answers exactly as FastAPI would but
without its per-request machinery: no dependency solving, no second validation of the answer
(the endpoint builds it from validated parts), no e-mail parser for the content type.

The endpoint stays an ordinary FastAPI endpoint `(body: Model, who: Principal, ctx: ApiContext)`
with its response model: FastAPI still builds the route's OpenAPI entry from it. The steps and
their order are FastAPI's: read the body (JSON only for a JSON content type, numbers kept as
written), authenticate, validate the body, run the endpoint, serialize by alias. Errors are the
same exceptions, answered by the same handlers."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from cryptex.tokens import Principal
from cryptex_api import exact_json
from cryptex_api.context import ApiContext, authenticate, bearer_token

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _body_model(endpoint: Callable[..., Any]) -> type[BaseModel]:
    """The endpoint's body model; anything but `(Model, Principal, ApiContext)` is a mistake
    that should stop the app at import, not at the first request."""
    hints = typing.get_type_hints(endpoint)
    kinds = [hints[name] for name in inspect.signature(endpoint).parameters]
    if len(kinds) != 3 or kinds[1:] != [Principal, ApiContext] or not (
        isinstance(kinds[0], type) and issubclass(kinds[0], BaseModel)
    ):  # fmt: skip
        raise TypeError(f"{endpoint.__name__}: DirectRoute needs (Model, Principal, ApiContext)")
    return kinds[0]


class DirectRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        endpoint = self.endpoint
        model = _body_model(endpoint)
        status = self.status_code or 200

        async def handle(request: Request) -> Response:
            raw = await request.body()
            body: Any = raw
            if raw and _is_json(request.headers.get("content-type")):
                try:
                    body = exact_json.loads(raw)
                except json.JSONDecodeError as error:
                    raise RequestValidationError([{
                        "type": "json_invalid", "loc": ("body", error.pos),
                        "msg": "JSON decode error", "input": {}, "ctx": {"error": error.msg},
                    }]) from None  # fmt: skip
            ctx: ApiContext = request.app.state.context
            who = authenticate(ctx, bearer_token(request.headers.get("authorization")))
            if not raw:
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
                )
            try:
                # from_attributes as FastAPI validates bodies: the same messages (the input is
                # parsed JSON or bytes, never an object with attributes to read)
                parsed = model.model_validate(body, from_attributes=True)
            except ValidationError as error:
                raise RequestValidationError([
                    {**detail, "loc": ("body", *detail["loc"])}
                    for detail in error.errors(include_url=False)
                ]) from None  # fmt: skip
            answer: BaseModel = await endpoint(parsed, who, ctx)
            return Response(
                answer.model_dump_json(by_alias=True), status, media_type="application/json"
            )

        return handle
