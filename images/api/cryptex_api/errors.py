"""Every error the API answers with: `{"code": <int>, "msg": <text>}` and the right status.

Codes follow the convention traders know from the largest exchanges (negative integers by
family). Bad input is always a 4xx with a message that names the field; never a 500."""

from __future__ import annotations

import logging
from enum import IntEnum

import redis.exceptions
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class Code(IntEnum):
    UNKNOWN = -1000
    STORE_UNAVAILABLE = -1001  # 503: Redis unreachable (Binance's DISCONNECTED)
    UNAUTHORIZED = -1002
    TOO_MANY_REQUESTS = -1003
    FORBIDDEN = -1004
    NOT_FOUND = -1005
    BODY_TOO_LARGE = -1006
    FILTER_FAILURE = -1013
    TIMESTAMP_OUTSIDE_WINDOW = -1021  # a signed request's timestamp, by its recvWindow
    BAD_SIGNATURE = -1022
    MARKET_NOT_OPEN = -1014
    ILLEGAL_PARAMETER = -1100
    MANDATORY_PARAMETER = -1102
    BAD_SYMBOL = -1121
    BAD_INTERVAL = -1120
    INVALID_LISTEN_KEY = -1125
    BAD_RECV_WINDOW = -1131
    ORDER_REJECTED = -2010
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_CREDENTIALS = -2014
    REJECTED_API_KEY = -2015  # unknown or revoked key, or one without the permission
    EMAIL_TAKEN = -2016
    TOO_MANY_OPEN_ORDERS = -2030  # the market's maxOpenOrders per account
    CLIENT_ORDER_ID_REUSED = -2031  # 409: the same clientOrderId with other terms
    TRANSFER_REFERENCE_REUSED = -2032  # 409: the same reference for another transfer
    BALANCE_LIMIT = -2033  # a balance would pass the largest amount the ledger holds
    AMEND_REJECTED = -2034  # an amend the order cannot take (not lower, not open, ...)


class ApiError(Exception):
    """`reason` names what exactly was refused, where one code covers several refusals (a
    RejectReason, or the filter that failed): the Binance facade words its messages by it."""

    def __init__(
        self, status: int, code: Code, msg: str, headers: dict[str, str] | None = None,
        reason: str = "",
    ) -> None:  # fmt: skip
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers
        self.reason = reason


def bad_request(code: Code, msg: str, reason: str = "") -> ApiError:
    return ApiError(400, code, msg, reason=reason)


def body(code: int, msg: str) -> dict[str, object]:
    return {"code": code, "msg": msg}


async def api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse(body(error.code, error.msg), error.status, headers=error.headers)


STORE_UNAVAILABLE_MSG = (
    "Service unavailable: the ledger cannot be reached. Try again; an order or transfer sent "
    "now may or may not have been taken: look it up (by clientOrderId or reference) first."
)
_log = logging.getLogger(__name__)


async def store_unavailable(request: Request, error: Exception) -> JSONResponse:
    """Redis down or unreachable: a 503 the client may retry, not a 500 with a traceback."""
    assert isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)
    _log.warning("redis unavailable: %s %s: %s", request.method, request.url.path, error)
    return JSONResponse(
        body(Code.STORE_UNAVAILABLE, STORE_UNAVAILABLE_MSG), 503, headers={"Retry-After": "1"}
    )


async def validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
    if first["type"] == "json_invalid":
        reason = first.get("ctx", {}).get("error", "invalid JSON")
        return JSONResponse(body(Code.ILLEGAL_PARAMETER, f"body: malformed JSON ({reason})"), 400)
    if first["type"] == "missing":
        return JSONResponse(body(Code.MANDATORY_PARAMETER, f"{where}: is required"), 400)
    message = str(first["msg"]).removeprefix("Value error, ")
    return JSONResponse(body(Code.ILLEGAL_PARAMETER, f"{where}: {message}"), 400)


async def http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {401: Code.UNAUTHORIZED, 403: Code.FORBIDDEN, 404: Code.NOT_FOUND}.get(
        error.status_code, Code.ILLEGAL_PARAMETER if error.status_code < 500 else Code.UNKNOWN
    )
    return JSONResponse(body(code, str(error.detail)), error.status_code, headers=error.headers)
