"""Sign-up and sign-in; bearer tokens refused when missing, forged, tampered or expired; the
admin role; transfers once per reference."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from tests.integration.api.conftest import JWT_SECRET, Stack, Trader, sign_up


def test_an_email_signs_up_once(stack: Stack) -> None:
    email = f"once-{uuid.uuid4().hex[:8]}@example.com"
    with stack.client() as http:
        assert (
            http.post(
                "/api/v1/signup", json={"email": email, "password": "long enough"}
            ).status_code
            == 201
        )
        again = http.post(
            "/api/v1/signup", json={"email": email.upper(), "password": "long enough"}
        )
    assert (again.status_code, again.json()) == (
        409, {"code": -2016, "msg": "an account with this email exists"},
    )  # fmt: skip


@pytest.mark.parametrize("known_email", [True, False], ids=["wrong-password", "unknown-email"])
def test_a_wrong_password_or_unknown_email_is_refused_alike(
    stack: Stack, known_email: bool
) -> None:
    email = f"known-{uuid.uuid4().hex[:8]}@example.com"
    with stack.client() as http:
        http.post("/api/v1/signup", json={"email": email, "password": "the right one"})
        answer = http.post(
            "/api/v1/signin",
            json={
                "email": email if known_email else "nobody@example.com",
                "password": "a wrong one",
            },
        )
    assert (answer.status_code, answer.json()) == (
        401, {"code": -2014, "msg": "wrong email or password"},
    )  # fmt: skip


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _tokens(trader: Trader) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": str(trader.account),
        "role": "trader",
        "iss": "cryptex",
        "iat": now,
        "exp": now + 60,
    }
    header, payload, signature = trader.token.split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_claims["role"] = "admin"
    tampered = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    return {
        "alg none": _unsigned(claims),
        "tampered": f"{header}.{tampered}.{signature}",
        "other key": jwt.encode(claims, "another secret of enough length for hs256!", "HS256"),
        "expired": jwt.encode({**claims, "exp": now - 1}, JWT_SECRET, "HS256"),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["alg none", "tampered", "other key", "expired", "garbage"])
def test_bad_tokens_are_refused(stack: Stack, kind: str) -> None:
    trader = sign_up(stack)
    with stack.client(_tokens(trader)[kind]) as http:
        answer = http.get("/api/v1/balances")
    assert (answer.status_code, answer.json()["code"]) == (401, -1002)
    trader.http.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/balances"), ("POST", "/api/v1/order"), ("GET", "/api/v1/order/1"),
     ("DELETE", "/api/v1/order/1"), ("GET", "/api/v1/orders/open"),
     ("DELETE", "/api/v1/orders/open"), ("GET", "/api/v1/orders"), ("GET", "/api/v1/myTrades"),
     ("POST", "/api/v1/admin/deposits")],
)  # fmt: skip
def test_private_routes_need_a_token(stack: Stack, method: str, path: str) -> None:
    with stack.client() as http:
        answer = http.request(method, path, json={})
    assert (answer.status_code, answer.json()) == (
        401,
        {"code": -1002, "msg": "missing bearer token"},
    )


def test_a_trader_is_no_admin(stack: Stack) -> None:
    trader = sign_up(stack)
    answer = trader.http.post(
        "/api/v1/admin/deposits",
        json={"account": trader.account, "asset": "USDC", "amount": "1", "reference": "self-gift"},
    )
    assert (answer.status_code, answer.json()["code"]) == (403, -1004)
    trader.http.close()


def test_a_deposit_happens_once_per_reference(stack: Stack, admin_token: str) -> None:
    trader = sign_up(stack)
    body = {
        "account": trader.account,
        "asset": "USDC",
        "amount": "25.5",
        "reference": f"r-{uuid.uuid4().hex}",
    }
    with stack.client(admin_token) as admin:
        first = admin.post("/api/v1/admin/deposits", json=body)
        second = admin.post("/api/v1/admin/deposits", json=body)
        short = admin.post(
            "/api/v1/admin/withdrawals", json={**body, "amount": "26", "reference": "w-too-much"}
        )
        unknown = admin.post("/api/v1/admin/deposits", json={**body, "account": 99_999_999})
    assert (
        first.json()
        == second.json()
        == {"account": trader.account, "asset": "USDC", "free": "25.500000"}
    )
    assert (short.status_code, short.json()["msg"]) == (400, "insufficient available balance")
    assert unknown.status_code == 404
    trader.http.close()
