"""Bearer tokens: issued and verified with HS256 only; a token verified once is remembered until
it expires, and never past that."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from cryptex import tokens
from cryptex.tokens import Principal, Tokens

SECRET = "a test secret that is long enough for HS256 tokens"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # PyJWT reads the real clock: start from it, on a whole second, since claims hold whole
    # seconds (from a fraction f past a second, a 60 s token lapses after 60 - f seconds)
    fake = Clock(float(int(time.time())))
    monkeypatch.setattr(time, "time", fake)  # what cryptex.tokens reads
    return fake


def test_a_token_is_verified_as_issued_and_again_from_memory(clock: Clock) -> None:
    issuer = Tokens(SECRET, ttl_s=60)
    token = issuer.issue(Principal(7, "trader"))
    assert issuer.verify(token) == Principal(7, "trader")
    assert issuer.verify(token) == Principal(7, "trader")
    assert Tokens(SECRET, ttl_s=60).verify(token) == Principal(7, "trader")  # another process


def test_a_remembered_token_expires_on_time(clock: Clock) -> None:
    issuer = Tokens(SECRET, ttl_s=60)
    token = issuer.issue(Principal(7, "admin"))
    assert issuer.verify(token) == Principal(7, "admin")
    clock.now += 59.5
    assert issuer.verify(token) == Principal(7, "admin")
    clock.now += 0.5
    assert issuer.verify(token) is None


def test_tampered_foreign_and_unsigned_tokens_are_refused(clock: Clock) -> None:
    issuer = Tokens(SECRET, ttl_s=60)
    token = issuer.issue(Principal(7, "trader"))
    assert issuer.verify(token) is not None  # remembered: must not vouch for look-alikes
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert issuer.verify(f"{header}.{forged}.{signature}") is None
    assert issuer.verify(Tokens("another secret, just as long as the first", 60).issue(
        Principal(7, "trader"))) is None  # fmt: skip
    # with cryptography installed, PyJWT's annotations leave out the key-less "none" algorithm
    unsigned = jwt.encode({**claims, "role": "trader"}, key=None, algorithm="none")  # type: ignore[arg-type]
    assert issuer.verify(unsigned) is None
    assert issuer.verify("not a token") is None


def test_memory_is_bounded(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_REMEMBERED", 3)
    issuer = Tokens(SECRET, ttl_s=60)
    for account in range(10):
        assert issuer.verify(issuer.issue(Principal(account, "trader"))) is not None
    assert len(issuer._verified) <= 3
