"""Signed requests, as Binance defines them: the key in `X-MBX-APIKEY`; `signature` over the
query string followed by the body (HMAC-SHA256 in hex, or Ed25519 in base64); `timestamp` in
ms, no more than 1 s ahead of the server and no older than `recvWindow` (5000 by default, at
most 60000). A signature is accepted once: the same request again is a replay.

Refusals carry Binance's codes and words (ccxt maps them to its exception classes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from fastapi import Request

from cryptex.signing import ApiKey, SigningError, check_key_format
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext
from cryptex_api.errors import ApiError, Code, bad_request


@dataclass(frozen=True, slots=True)
class Signed:
    """A verified request: its parameters (query and form body together) and who sent it."""

    params: dict[str, str]
    who: Principal
    key: ApiKey


def refusal(refused: SigningError) -> ApiError:
    """A signing refusal as the REST API answers it."""
    return ApiError(refused.status, Code(int(refused.code)), refused.msg)


def without_signature(part: str) -> tuple[str, str | None]:
    """The part of the signed payload (query string or body) without its `signature`, and the
    signature, if it held one."""
    if "signature=" not in part:
        return part, None
    kept, signature = [], None
    for item in part.split("&"):
        if item.startswith("signature="):
            signature = item.removeprefix("signature=")
        else:
            kept.append(item)
    return "&".join(kept), signature


def form_pairs(part: str) -> Iterator[tuple[str, str]]:
    """The name=value pairs of a query string or form body, as `parse_qsl` with blank values
    kept reads them; only pairs with an escape are unquoted (a signed order has none)."""
    for item in part.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        if "%" in item or "+" in item:
            name, value = unquote_plus(name), unquote_plus(value)
        yield name, value


def _ascii(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"{what}: illegal characters") from None


def _form(raw: bytes, content_type: str | None) -> str:
    if not raw:
        return ""
    if (content_type or "").partition(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise bad_request(
            Code.ILLEGAL_PARAMETER, "a signed request's body is application/x-www-form-urlencoded"
        )
    return _ascii(raw, "body")


async def signed(request: Request, ctx: ApiContext, *, trade: bool) -> Signed:
    """Verify a signed request; `trade` routes need a key with the trade permission."""
    key = request.headers.get("x-mbx-apikey", "")
    try:
        check_key_format(key)
    except SigningError as refused:
        raise refusal(refused) from None
    # The raw query string, as the client signed it (request.url would rebuild the whole URL).
    query, in_query = without_signature(_ascii(request.scope["query_string"], "query string"))
    body, in_body = without_signature(
        _form(await request.body(), request.headers.get("content-type"))
    )
    signature = unquote(in_query or in_body or "")
    params = dict(form_pairs(query))
    if body:
        params.update(form_pairs(body))
    try:
        api_key = await ctx.api_keys.verify(
            key, (query + body).encode(), signature, params, time.time_ns() // 1_000_000,
            trade=trade,
        )  # fmt: skip
    except SigningError as refused:
        raise refusal(refused) from None
    return Signed(params, Principal(api_key.account, "trader"), api_key)
