"""Signed requests, as Binance defines them: the key in `X-MBX-APIKEY`; `signature` over the
query string followed by the body (HMAC-SHA256 in hex, or Ed25519 in base64); `timestamp` in
ms, no more than 1 s ahead of the server and no older than `recvWindow` (5000 by default, at
most 60000). A signature is accepted once: the same request again is a replay.

Refusals carry Binance's codes and words (ccxt maps them to its exception classes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote

from fastapi import Request

from cryptex.tokens import Principal
from cryptex_api.apikeys import TRADE, ApiKey
from cryptex_api.context import ApiContext
from cryptex_api.errors import ApiError, Code, bad_request

DEFAULT_RECV_WINDOW_MS: Final = 5_000
MAX_RECV_WINDOW_MS: Final = 60_000
FUTURE_ALLOWANCE_MS: Final = 1_000  # how far ahead of the server a timestamp may be
_MAX_KEY_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class Signed:
    """A verified request: its parameters (query and form body together) and who sent it."""

    params: dict[str, str]
    who: Principal
    key: ApiKey


def _rejected_key() -> ApiError:
    return ApiError(401, Code.REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action.")


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


def _form(raw: bytes, content_type: str | None) -> str:
    if not raw:
        return ""
    if (content_type or "").partition(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise bad_request(
            Code.ILLEGAL_PARAMETER, "a signed request's body is application/x-www-form-urlencoded"
        )
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise bad_request(Code.ILLEGAL_PARAMETER, "body: illegal characters") from None


def _int_param(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"Illegal characters found in parameter '{name}'")
    return int(text)


def check_timestamp(params: dict[str, str], now_ms: int) -> int:
    """The request's receive window (ms), once its timestamp is inside it."""
    timestamp = _int_param(params, "timestamp")
    if timestamp is None:
        raise bad_request(
            Code.MANDATORY_PARAMETER,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        )
    window = _int_param(params, "recvWindow")
    if window is None:
        window = DEFAULT_RECV_WINDOW_MS
    if not 0 < window <= MAX_RECV_WINDOW_MS:
        raise bad_request(
            Code.BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}."
        )
    if timestamp > now_ms + FUTURE_ALLOWANCE_MS:
        raise bad_request(
            Code.TIMESTAMP_OUTSIDE_WINDOW,
            f"Timestamp for this request was {FUTURE_ALLOWANCE_MS}ms ahead of the server's time.",
        )
    if now_ms - timestamp > window:
        raise bad_request(
            Code.TIMESTAMP_OUTSIDE_WINDOW,
            "Timestamp for this request is outside of the recvWindow.",
        )
    return window


async def signed(request: Request, ctx: ApiContext, *, trade: bool) -> Signed:
    """Verify a signed request; `trade` routes need a key with the trade permission."""
    key = request.headers.get("x-mbx-apikey", "")
    if not key or len(key) > _MAX_KEY_LENGTH or not key.isascii():
        raise ApiError(401, Code.BAD_CREDENTIALS, "API-key format invalid.")
    query, in_query = without_signature(request.url.query)
    body, in_body = without_signature(
        _form(await request.body(), request.headers.get("content-type"))
    )
    signature = unquote(in_query or in_body or "")
    if not signature:
        raise bad_request(
            Code.MANDATORY_PARAMETER,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        )
    params = dict(parse_qsl(query, keep_blank_values=True))
    params.update(parse_qsl(body, keep_blank_values=True))
    window = check_timestamp(params, time.time_ns() // 1_000_000)
    # The signature stays marked while the timestamp is acceptable: past that, check_timestamp
    # refuses the request anyway.
    api_key, first = await ctx.api_keys.signed_with(
        key, signature[:256], window + FUTURE_ALLOWANCE_MS
    )
    if api_key is None:
        raise _rejected_key()
    if not api_key.verifies((query + body).encode(), signature):
        raise bad_request(Code.BAD_SIGNATURE, "Signature for this request is not valid.")
    if not first:
        raise bad_request(
            Code.TIMESTAMP_OUTSIDE_WINDOW,
            "This request was already received: a signed request is accepted once.",
        )
    if trade and TRADE not in api_key.permissions:
        raise _rejected_key()
    return Signed(params, Principal(api_key.account, "trader"), api_key)
