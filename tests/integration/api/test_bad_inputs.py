"""Bad input gets a 4xx with a message that names the problem, and loses nothing: never a 500."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import Stack, Trader

GOOD = {"side": "buy", "type": "limit", "price": "100", "quantity": "1", "market": "SOL_USDC"}
MEGABYTE = "9" * 1_000_000

CASES: list[tuple[str, object, int, int, str]] = [
    # id, body, status, code, text the message contains
    ("negative price", {**GOOD, "price": "-1"}, 400, -1013, "is negative"),
    ("zero quantity", {**GOOD, "quantity": "0"}, 400, -1013, "must be greater than zero"),
    ("off tick", {**GOOD, "price": "100.005"}, 400, -1013, "not a multiple of 0.01"),
    ("off lot", {**GOOD, "quantity": "1.0005"}, 400, -1013, "not a multiple of 0.001"),
    ("NaN string", {**GOOD, "price": "NaN"}, 400, -1013, "not a finite number"),
    ("NaN literal", '{"side":"buy","price":NaN,"quantity":"1","market":"SOL_USDC"}', 400, -1013,
     "not a finite number"),
    ("Infinity literal", '{"side":"buy","price":Infinity,"quantity":"1","market":"SOL_USDC"}',
     400, -1013, "not a finite number"),
    ("1e309", '{"side":"buy","price":1e309,"quantity":"1","market":"SOL_USDC"}', 400, -1013,
     "uses an exponent"),
    ("exponent string", {**GOOD, "quantity": "1e2"}, 400, -1013, "uses an exponent"),
    ("huge number", {**GOOD, "quantity": "9" * 40}, 400, -1013, "too large"),
    ("megabyte string", {**GOOD, "price": MEGABYTE}, 413, -1006, "request body over"),
    ("price not text", {**GOOD, "price": True}, 400, -1100, "price"),
    ("quantity a list", {**GOOD, "quantity": [1]}, 400, -1100, "quantity"),
    ("unknown market", {**GOOD, "market": "DOGE_USDC"}, 400, -1121, "unknown market DOGE_USDC"),
    ("not a symbol", {**GOOD, "market": "dogecoin"}, 400, -1121, "is not a market symbol"),
    ("missing quantity", {k: v for k, v in GOOD.items() if k != "quantity"}, 400, -1102,
     "quantity: is required"),
    ("missing side", {k: v for k, v in GOOD.items() if k != "side"}, 400, -1102, "is required"),
    ("limit without price", {k: v for k, v in GOOD.items() if k != "price"}, 400, -1102,
     "price: is required for a limit order"),
    ("market with price", {**GOOD, "type": "market"}, 400, -1100, "takes no price"),
    ("unknown side", {**GOOD, "side": "hold"}, 400, -1100, "side"),
    ("unknown field", {**GOOD, "leverage": "100"}, 400, -1100, "leverage"),
    ("below min notional", {**GOOD, "price": "0.01", "quantity": "1"}, 400, -1013,
     "below the minimum 5.000000"),
    ("below min quantity", {**GOOD, "quantity": "0.001", "price": "10000"}, 400, -1013,
     "below the minimum 0.010"),
    ("post-only IOC", {**GOOD, "postOnly": True, "timeInForce": "IOC"}, 400, -1100,
     "only with timeInForce GTC"),
    ("bad client id", {**GOOD, "clientOrderId": "no spaces allowed"}, 400, -1100,
     "clientOrderId"),
    ("quantity and quoteOrderQty", {**GOOD, "type": "market", "price": None,
     "quoteOrderQty": "10"}, 400, -1100, "either quantity or quoteOrderQty"),
    ("limit with quoteOrderQty", {**GOOD, "quoteOrderQty": "10"}, 400, -1100,
     "only a market order takes a quote amount"),
    ("market without amount", {"side": "buy", "type": "market", "market": "SOL_USDC"}, 400,
     -1102, "quantity: is required (or quoteOrderQty instead)"),
    ("quoteOrderQty FOK", {"side": "buy", "type": "market", "market": "SOL_USDC",
     "quoteOrderQty": "10", "timeInForce": "FOK"}, 400, -1100, "cannot be FOK"),
    ("malformed JSON", '{"side": "buy",', 400, -1100, "malformed JSON"),
    ("not an object", "[1, 2]", 400, -1100, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code", "text"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_bad_orders_are_refused_clearly(
    traders: tuple[Trader, Trader], body: object, status: int, code: int, text: str
) -> None:
    a, _ = traders
    if isinstance(body, str):
        answer = a.http.post(
            "/api/v1/order", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        answer = a.http.post("/api/v1/order", json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["code"] == code
    assert text in error["msg"]
    assert a.http.get("/api/v1/orders/open").json() == []
    assert a.http.get("/api/v1/balances").json() == [
        {"asset": "USDC", "free": "10000.000000", "locked": "0.000000"}
    ]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "0"}, -1100),
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "x"}, -1100),
        ("/api/v1/depth", {}, -1102),
        ("/api/v1/trades", {"symbol": "NOPE_USDC"}, -1121),
        ("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "7m"}, -1120),
        ("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1m", "startTime": "-5"}, -1100),
        ("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1m", "endTime": "9" * 19}, -1100),
        ("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1m", "startTime": "10",
                            "endTime": "5"}, -1100),
        ("/api/v1/order/abc", {}, -1100),
    ],
)  # fmt: skip
def test_bad_queries_are_refused_clearly(
    traders: tuple[Trader, Trader], path: str, params: dict[str, str], code: int
) -> None:
    a, _ = traders
    answer = a.http.get(path, params=params)
    assert (answer.status_code, answer.json()["code"]) == (400, code), answer.text


@pytest.mark.parametrize("path", ["/api/v1/signup", "/api/v1/signin"])
@pytest.mark.parametrize("email", ["a\u0000@b.co", "a b@c.co", "tab\t@c.co", "no-at.example"])
def test_bad_emails_are_refused_clearly(stack: Stack, path: str, email: str) -> None:
    """A NUL reached PostgreSQL once and made a 500 (found by the OpenAPI fuzzer)."""
    with stack.client() as http:
        answer = http.post(path, json={"email": email, "password": "long enough"})
    assert (answer.status_code, answer.json()["code"]) == (400, -1100)
    assert answer.json()["msg"].startswith("email:")


BODY_SHAPES: list[tuple[str, bytes, dict[str, str]]] = [
    ("empty body", b"", {"Content-Type": "application/json"}),
    ("no content type", b'{"side": "buy"}', {}),
    ("text/plain", b'{"side": "buy"}', {"Content-Type": "text/plain"}),
    ("malformed JSON", b'{"side": ', {"Content-Type": "application/json"}),
    ("not an object", b"[1, 2]", {"Content-Type": "application/json; charset=utf-8"}),
    # With a quantity: an order may do without one (quoteOrderQty), a quote may not.
    (
        "a +json type",
        b'{"side": "buy", "quantity": "1"}',
        {"Content-Type": "application/vnd.x+json"},
    ),
]


@pytest.mark.parametrize(
    ("body", "headers"), [case[1:] for case in BODY_SHAPES], ids=[c[0] for c in BODY_SHAPES]
)
def test_the_order_route_reads_bodies_as_every_other_route_does(
    traders: tuple[Trader, Trader], body: bytes, headers: dict[str, str]
) -> None:
    """POST /order skips FastAPI's request machinery (DirectRoute); POST /order/quote does not.
    Given the same unusable body, both answer alike."""
    a, _ = traders
    placed = a.http.post("/api/v1/order", content=body, headers=headers)
    quoted = a.http.post("/api/v1/order/quote", content=body, headers=headers)
    assert placed.status_code == quoted.status_code == 400, (placed.text, quoted.text)
    assert placed.json() == quoted.json()
    assert a.http.get("/api/v1/orders/open").json() == []


@pytest.mark.parametrize("authorization", ["Basic abc", "Bearer", "Bearer not-a-token", ""])
def test_the_order_route_refuses_what_is_no_bearer_token(stack: Stack, authorization: str) -> None:
    with stack.client() as http:
        answer = http.post(
            "/api/v1/order",
            json=GOOD,
            headers={"Authorization": authorization} if authorization else {},
        )
    assert (answer.status_code, answer.json()["code"]) == (401, -1002)
    assert answer.headers["WWW-Authenticate"] == "Bearer"
