"""Passwords (argon2) and bearer tokens (JWT, HS256 only: `alg: none` and any other algorithm
are refused, as are tampered and expired tokens)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM: Final = "HS256"
ISSUER: Final = "cryptex"

_hasher = PasswordHasher()
# Compared against when the email is unknown, so both failures take the same time.
_DUMMY_HASH: Final = _hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class Principal:
    account: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """argon2 is slow on purpose: it runs off the event loop."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


class Tokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "sub": str(principal.account),
            "role": principal.role,
            "iss": ISSUER,
            "iat": now,
            "exp": now + self.ttl_s,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal | None:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )  # fmt: skip
            return Principal(int(claims["sub"]), str(claims.get("role", "trader")))
        except (jwt.PyJWTError, ValueError, KeyError):
            return None
