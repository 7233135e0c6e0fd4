"""Binance's WebSocket API at `/ws-api/v3`, its user data part: what ccxt.pro and Binance's own
connectors send to follow an account's orders and balances.

    {"id": "1", "method": "userDataStream.subscribe.signature",
     "params": {"apiKey": ..., "timestamp": ..., "signature": ...}}
        ->  {"id": "1", "status": 200, "result": {"subscriptionId": 0}}
    then    {"subscriptionId": 0, "event": {"e": "executionReport", ...}}
            {"subscriptionId": 0, "event": {"e": "outboundAccountPosition", ...}}
    {"id": 2, "method": "userDataStream.unsubscribe"}  ->  {"id": 2, "status": 200, "result": {}}
    {"id": 3, "method": "ping"}, {"id": 4, "method": "time"}
    anything refused  ->  {"id": ..., "status": 400, "error": {"code": -1022, "msg": ...}}

The signature is checked as a signed REST request's is (`cryptex.signing`, one place): over the
parameters but `signature`, sorted by name, as `name=value` joined with `&`; `timestamp` inside
`recvWindow`; each signature once. One subscription per connection, for the key's account."""

from __future__ import annotations

import logging
import time
from typing import Final

import msgspec
import redis.asyncio

from cryptex.signing import SigningCode, SigningError, mandatory
from cryptex_ws.errors import Code
from cryptex_ws.fanout import text_frame
from cryptex_ws.messages import encode
from cryptex_ws.protocol import RequestId
from cryptex_ws.session import Session
from cryptex_ws.streams import Kind, Stream
from cryptex_ws.user_data import SUBSCRIPTION_ID

log = logging.getLogger("cryptex.ws")

SUBSCRIBE_SIGNATURE: Final = "userDataStream.subscribe.signature"
UNSUBSCRIBE: Final = "userDataStream.unsubscribe"
METHODS: Final = (SUBSCRIBE_SIGNATURE, UNSUBSCRIBE, "ping", "time")
USER_DATA: Final = Stream(Kind.USER_DATA_API)
_MAX_ID_LENGTH: Final = 64
_decode = msgspec.json.Decoder().decode


class RefusedError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _value(value: object) -> str:
    """A parameter as it is signed: JSON's true and false, numbers and strings as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signed_payload(params: dict[str, object]) -> bytes:
    """What a WebSocket API request's signature signs: every parameter but `signature`, sorted
    by name, as name=value pairs joined with `&`."""
    return "&".join(
        f"{name}={_value(params[name])}" for name in sorted(params) if name != "signature"
    ).encode()


class WsApiSession(Session):
    async def process(self, message: str | bytes) -> None:
        request_id: RequestId = None
        try:
            request_id, method, params = self._parse(message)
            result = await self._call(method, params)
            self._send(request_id, 200, {"result": result})
        except RefusedError as refused:
            self._refuse(request_id, refused.status, refused.code, refused.msg)
        except SigningError as refused:
            self._refuse(request_id, refused.status, int(refused.code), refused.msg)
        except (redis.RedisError, OSError) as failure:
            log.warning("redis unavailable for a request", extra={"error": str(failure)})
            self._refuse(request_id, 503, Code.INTERNAL, "Service unavailable; try again.")
        except Exception:
            log.exception("request failed", extra={"client": self.client.id})
            self._refuse(request_id, 500, Code.INTERNAL, "Internal error.")

    def _error(
        self, request_id: RequestId, code: Code, msg: str, *, malformed: bool = False
    ) -> None:
        """A refusal from the shared session code (the message rate limit)."""
        self._refuse(request_id, 429 if code is Code.TOO_MANY_MESSAGES else 400, code, msg)

    def _refuse(self, request_id: RequestId, status: int, code: int, msg: str) -> None:
        self.ctx.metrics.errors.labels(str(code)).inc()
        self._send(request_id, status, {"error": {"code": code, "msg": msg}})

    def _send(self, request_id: RequestId, status: int, body: dict[str, object]) -> None:
        self.ctx.hub.send_frame(
            self.client, text_frame(encode({"id": request_id, "status": status, **body}))
        )

    def _parse(self, message: str | bytes) -> tuple[RequestId, str, dict[str, object]]:
        if isinstance(message, bytes):
            raise RefusedError(400, Code.ILLEGAL_PARAMETER, "Binary frames are not accepted.")
        if len(message) > self.ctx.settings.max_message_bytes:
            raise RefusedError(400, Code.MESSAGE_TOO_LARGE, "Message too large.")
        try:
            body = _decode(message)
        except msgspec.DecodeError as error:
            raise RefusedError(400, Code.ILLEGAL_PARAMETER, f"Malformed JSON: {error}") from None
        if not isinstance(body, dict):
            raise RefusedError(400, Code.ILLEGAL_PARAMETER, "A request is a JSON object.")
        request_id = body.get("id")
        if not (
            request_id is None
            or (isinstance(request_id, int) and not isinstance(request_id, bool))
            or (isinstance(request_id, str) and len(request_id) <= _MAX_ID_LENGTH)
        ):
            raise RefusedError(
                400, Code.ILLEGAL_PARAMETER,
                f"'id': an integer, a string of at most {_MAX_ID_LENGTH} characters, or null.",
            )  # fmt: skip
        method = body.get("method")
        params = body.get("params", {})
        if not isinstance(method, str) or method not in METHODS:
            raise RefusedError(
                400, Code.ILLEGAL_PARAMETER,
                f"Unknown method {method!r}: one of {', '.join(METHODS)}.",
            )  # fmt: skip
        if not isinstance(params, dict):
            raise RefusedError(400, Code.ILLEGAL_PARAMETER, "'params': a JSON object.")
        return request_id, method, params

    async def _call(self, method: str, params: dict[str, object]) -> object:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": time.time_ns() // 1_000_000}
        client = self.client
        if method == UNSUBSCRIBE:
            self.ctx.hub.unsubscribe(client, USER_DATA)
            return {}
        if USER_DATA in client.subscriptions:
            raise RefusedError(
                400, Code.ILLEGAL_PARAMETER,
                "This connection is subscribed already: one user data stream per connection.",
            )  # fmt: skip
        api_keys = self.ctx.api_keys
        if api_keys is None:
            raise RefusedError(
                401, SigningCode.REJECTED_API_KEY,
                "User data streams are off: this server has no secret to read API keys with.",
            )  # fmt: skip
        key, signature = params.get("apiKey"), params.get("signature")
        if not isinstance(key, str):
            raise mandatory("apiKey")
        if not isinstance(signature, str):
            raise mandatory("signature")
        text = {name: _value(value) for name, value in params.items()}
        api_key = await api_keys.verify(
            key, signed_payload(params), signature, text, time.time_ns() // 1_000_000,
            trade=False,
        )  # fmt: skip
        if client.closed:
            return {}
        if client.account is not None and client.account != api_key.account:
            raise RefusedError(
                400, Code.ILLEGAL_PARAMETER,
                "This connection follows another account: open a new one.",
            )  # fmt: skip
        client.account = api_key.account
        self.ctx.hub.subscribe(client, USER_DATA)
        log.info("user data subscribed", extra={"client": client.id, "account": api_key.account})
        return {"subscriptionId": SUBSCRIPTION_ID}
