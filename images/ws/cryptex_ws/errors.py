"""Error codes of the WebSocket API: `{"error": {"code": <int>, "msg": <text>}, "id": <id>}`.

The numbers are the REST API's for the same failures (an unknown market is -1121 on both), so a
client maps them once. An error answers one request; only abuse closes the connection."""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    INTERNAL = -1000
    UNAUTHORIZED = -1002
    TOO_MANY_MESSAGES = -1003
    MESSAGE_TOO_LARGE = -1006
    ILLEGAL_PARAMETER = -1100  # malformed JSON, wrong shape, unknown method or stream
    TOO_MANY_SUBSCRIPTIONS = -1101
    MANDATORY_PARAMETER = -1102
    BAD_INTERVAL = -1120
    BAD_SYMBOL = -1121  # malformed or unknown market


class RequestError(Exception):
    """A request refused with `code`; `request_id` is echoed when the request carried one."""

    def __init__(
        self, code: Code, msg: str, request_id: int | str | None = None, *, malformed: bool = False
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.request_id = request_id
        self.malformed = malformed  # not JSON at all (Binance numbers that apart)
