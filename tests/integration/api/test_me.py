"""`GET /api/v1/me`: the caller's own account id, email and role, as the database holds them;
401 without a token, with a bad one, or with a good one for an account that does not exist."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from tests.integration.api.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    JWT_SECRET,
    Stack,
    sign_up,
)


def test_a_trader_learns_its_account(stack: Stack) -> None:
    email = f"Me-{uuid.uuid4().hex[:8]}@Example.com"
    with stack.client() as anonymous:
        created = anonymous.post("/api/v1/signup", json={"email": email, "password": "s3cret-pass"})
        signed = anonymous.post("/api/v1/signin", json={"email": email, "password": "s3cret-pass"})
    assert signed.status_code == 200, signed.text
    with stack.client(signed.json()["token"]) as http:
        answer = http.get("/api/v1/me")
    assert (answer.status_code, answer.json()) == (
        200, {"accountId": created.json()["accountId"], "email": email.lower(), "role": "trader"},
    )  # fmt: skip


def test_an_admin_learns_its_role(stack: Stack) -> None:
    with stack.client() as anonymous:
        signed = anonymous.post(
            "/api/v1/signin", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
    assert signed.status_code == 200, signed.text
    with stack.client(signed.json()["token"]) as http:
        answer = http.get("/api/v1/me")
    assert (answer.status_code, answer.json()) == (
        200, {"accountId": signed.json()["accountId"], "email": ADMIN_EMAIL, "role": "admin"},
    )  # fmt: skip


def test_two_traders_see_their_own_accounts(stack: Stack) -> None:
    one, other = sign_up(stack), sign_up(stack)
    try:
        seen = [trader.http.get("/api/v1/me").json()["accountId"] for trader in (one, other)]
    finally:
        one.http.close()
        other.http.close()
    assert seen == [one.account, other.account]
    assert one.account != other.account


def _token(kind: str) -> str | None:
    if kind == "no token":
        return None
    if kind == "bad token":
        return "not-a-token"
    now = int(time.time())  # signed with the API's key, for an account id never given out
    claims = {"sub": "99999999", "role": "trader", "iss": "cryptex", "iat": now, "exp": now + 60}
    return jwt.encode(claims, JWT_SECRET, "HS256")


@pytest.mark.parametrize(
    ("kind", "msg"),
    [("no token", "missing bearer token"), ("bad token", "invalid or expired token"),
     ("no such account", "no account for this token")],
)  # fmt: skip
def test_without_a_valid_token_me_is_refused(stack: Stack, kind: str, msg: str) -> None:
    with stack.client(_token(kind)) as http:
        answer = http.get("/api/v1/me")
    assert (answer.status_code, answer.json()) == (401, {"code": -1002, "msg": msg})
    assert answer.headers["WWW-Authenticate"] == "Bearer"
