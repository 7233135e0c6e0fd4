"""Requests and replies, as JSON text frames.

    {"method": "SUBSCRIBE", "params": ["depth@SOL_USDC"], "id": 1}  ->  {"result": null, "id": 1}
    {"method": "UNSUBSCRIBE", "params": [...], "id": 2}             ->  {"result": null, "id": 2}
    {"method": "LIST_SUBSCRIPTIONS", "id": 3}                       ->  {"result": [...], "id": 3}
    {"method": "AUTH", "params": ["<jwt>"], "id": 4}  ->  {"result": {"accountId": 7}, "id": 4}
    anything refused                     ->  {"error": {"code": -1121, "msg": "..."}, "id": 1}

An `id` is an integer, a string of up to 64 characters or null, and is echoed as sent; a
refused request is answered with its id whenever the id itself could be read. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import msgspec

from cryptex_ws.errors import Code, RequestError

RequestId = int | str | None

MAX_ID_LENGTH: Final = 64
MAX_PARAMS: Final = 100
_FIELDS: Final = frozenset({"method", "params", "id"})
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


class Method(StrEnum):
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    LIST_SUBSCRIPTIONS = "LIST_SUBSCRIPTIONS"
    AUTH = "AUTH"


@dataclass(frozen=True, slots=True)
class Request:
    method: Method
    params: list[object]
    id: RequestId


def parse_request(message: str | bytes, max_bytes: int) -> Request:
    """A request from one text frame, or a RequestError that names what is wrong."""
    if isinstance(message, bytes):
        raise RequestError(Code.ILLEGAL_PARAMETER, "binary frames are not accepted: send JSON text")
    if len(message) > max_bytes:
        raise RequestError(
            Code.MESSAGE_TOO_LARGE, f"message of {len(message)} characters: at most {max_bytes}"
        )
    try:
        body = _json_decode(message)
    except msgspec.DecodeError as error:
        raise RequestError(
            Code.ILLEGAL_PARAMETER, f"malformed JSON ({error})", malformed=True
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            Code.ILLEGAL_PARAMETER, 'a request is a JSON object: {"method": ..., "params": [...], '
            '"id": ...}',
        )  # fmt: skip
    request_id = _request_id(body.get("id"))
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise RequestError(Code.ILLEGAL_PARAMETER, f"unknown field {unknown[0]!r}", request_id)
    method_text = body.get("method")
    if method_text is None:
        raise RequestError(Code.MANDATORY_PARAMETER, "method: is required", request_id)
    try:
        method = Method(method_text.upper() if isinstance(method_text, str) else method_text)
    except ValueError:
        raise RequestError(
            Code.ILLEGAL_PARAMETER,
            f"method: unknown method {method_text!r}, one of {', '.join(Method)}",
            request_id,
        ) from None
    params = body.get("params", [])
    if not isinstance(params, list):
        raise RequestError(Code.ILLEGAL_PARAMETER, "params: must be a list", request_id)
    if len(params) > MAX_PARAMS:
        raise RequestError(
            Code.ILLEGAL_PARAMETER, f"params: at most {MAX_PARAMS} in one request", request_id
        )
    return Request(method, params, request_id)


def _request_id(value: object) -> RequestId:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise RequestError(Code.ILLEGAL_PARAMETER, "id: out of the 64-bit integer range")
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH:
        return value
    raise RequestError(
        Code.ILLEGAL_PARAMETER,
        f"id: an integer, a string of at most {MAX_ID_LENGTH} characters, or null",
    )


def result(request_id: RequestId, value: object = None) -> bytes:
    return _json_encode({"result": value, "id": request_id})


def error(request_id: RequestId, code: int, msg: str) -> bytes:
    """`code` is one of `Code`, or Binance's on its stream paths."""
    return _json_encode({"error": {"code": code, "msg": msg}, "id": request_id})
