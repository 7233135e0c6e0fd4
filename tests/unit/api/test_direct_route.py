"""DirectRoute serves only endpoints of the shape it calls; any other is refused when the route
is built (at import), not at the first request. Its answers are tested on a running API
(tests/integration/api/test_bad_inputs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, Depends

from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, bearer_token, context, principal
from cryptex_api.direct_route import DirectRoute
from cryptex_api.models import OrderOut, OrderRequest


# Never called: only their routes are built.
async def well_formed(
    request: OrderRequest, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> OrderOut:
    raise NotImplementedError


async def reordered(
    who: Principal = Depends(principal),
    request: OrderRequest | None = None,
    ctx: ApiContext = Depends(context),
) -> OrderOut:
    raise NotImplementedError


async def no_body(
    who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> OrderOut:
    raise NotImplementedError


def route(endpoint: Callable[..., Any]) -> None:
    APIRouter().add_api_route("/x", endpoint, methods=["POST"], route_class_override=DirectRoute)


def test_an_endpoint_of_the_expected_shape_is_served() -> None:
    route(well_formed)


@pytest.mark.parametrize("endpoint", [reordered, no_body])
def test_other_shapes_are_refused_when_the_route_is_built(endpoint: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match="needs \\(Model, Principal, ApiContext\\)"):
        route(endpoint)


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None),
     ("Bearer  ", None), ("", None), (None, None)],
)  # fmt: skip
def test_bearer_tokens_are_read_as_fastapis_http_bearer_reads_them(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token
