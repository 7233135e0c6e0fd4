"""Requests: one JSON object per text frame, every way of getting it wrong refused with a code,
a message naming the problem, and the request's id whenever it could be read."""

from __future__ import annotations

import json

import pytest

from cryptex_ws.errors import Code, RequestError
from cryptex_ws.protocol import Method, Request, error, parse_request, result

LIMIT = 4096


def test_a_request_and_its_defaults() -> None:
    text = '{"method": "SUBSCRIBE", "params": ["depth@SOL_USDC"], "id": 1}'
    assert parse_request(text, LIMIT) == Request(Method.SUBSCRIBE, ["depth@SOL_USDC"], 1)
    assert parse_request('{"method": "list_subscriptions"}', LIMIT) == Request(
        Method.LIST_SUBSCRIPTIONS, [], None
    )
    assert parse_request('{"method": "AUTH", "params": ["t"], "id": "a-1"}', LIMIT).id == "a-1"


@pytest.mark.parametrize(
    ("message", "code", "request_id", "words"),
    [
        (b'{"method": "SUBSCRIBE"}', Code.ILLEGAL_PARAMETER, None, "binary frames"),
        ("x" * (LIMIT + 1), Code.MESSAGE_TOO_LARGE, None, f"at most {LIMIT}"),
        ("{", Code.ILLEGAL_PARAMETER, None, "malformed JSON"),
        ("", Code.ILLEGAL_PARAMETER, None, "malformed JSON"),
        ('{"a": 1} {"b": 2}', Code.ILLEGAL_PARAMETER, None, "malformed JSON"),
        ("null", Code.ILLEGAL_PARAMETER, None, "a JSON object"),
        ("[]", Code.ILLEGAL_PARAMETER, None, "a JSON object"),
        ('{"method": "SUBSCRIBE", "id": 1.5}', Code.ILLEGAL_PARAMETER, None, "id:"),
        ('{"method": "SUBSCRIBE", "id": false}', Code.ILLEGAL_PARAMETER, None, "id:"),
        ('{"method": "SUBSCRIBE", "id": [1]}', Code.ILLEGAL_PARAMETER, None, "id:"),
        ('{"method": "SUBSCRIBE", "id": 9223372036854775808}', Code.ILLEGAL_PARAMETER, None,
         "64-bit"),
        ('{"method": "SUBSCRIBE", "id": "' + "i" * 65 + '"}', Code.ILLEGAL_PARAMETER, None, "id:"),
        ('{"id": 3}', Code.MANDATORY_PARAMETER, 3, "method: is required"),
        ('{"method": "SUB", "id": 4}', Code.ILLEGAL_PARAMETER, 4, "unknown method 'SUB'"),
        ('{"method": null, "id": 4}', Code.MANDATORY_PARAMETER, 4, "method: is required"),
        ('{"method": ["AUTH"], "id": 5}', Code.ILLEGAL_PARAMETER, 5, "unknown method"),
        ('{"method": "SUBSCRIBE", "params": {}, "id": 6}', Code.ILLEGAL_PARAMETER, 6, "a list"),
        ('{"method": "SUBSCRIBE", "id": 7, "param": []}', Code.ILLEGAL_PARAMETER, 7, "'param'"),
        (json.dumps({"method": "SUBSCRIBE", "params": ["x"] * 101, "id": 8}),
         Code.ILLEGAL_PARAMETER, 8, "at most 100"),
    ],
)  # fmt: skip
def test_refusals(message: str | bytes, code: Code, request_id: object, words: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse_request(message, LIMIT)
    assert (refused.value.code, refused.value.request_id) == (code, request_id)
    assert words in refused.value.msg


def test_replies() -> None:
    assert result(1) == b'{"result":null,"id":1}'
    assert result("x", ["depth@SOL_USDC"]) == b'{"result":["depth@SOL_USDC"],"id":"x"}'
    assert error(None, Code.BAD_SYMBOL, "unknown market X") == (
        b'{"error":{"code":-1121,"msg":"unknown market X"},"id":null}'
    )
