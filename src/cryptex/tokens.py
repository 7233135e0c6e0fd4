"""Bearer tokens: JWT signed with HS256 and nothing else (`alg: none`, any other algorithm, a
tampered or expired token are all refused). The API issues them; the API and the WebSocket
server verify them with the same secret."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import jwt

ALGORITHM: Final = "HS256"
ISSUER: Final = "cryptex"
# Tokens verified already, remembered with their expiry: a trader sends the same token with
# every request, and checking its signature again cost more than the rest of the request's
# authentication. Beyond this many, the memory starts over.
_REMEMBERED: Final = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    account: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Tokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        self._verified: dict[str, tuple[Principal, int]] = {}  # token -> (principal, exp)

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
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires = remembered
            if time.time() < expires:
                return principal
            del self._verified[token]
            return None
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )  # fmt: skip
            principal = Principal(int(claims["sub"]), str(claims.get("role", "trader")))
            expires = int(claims["exp"])
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            return None
        if len(self._verified) >= _REMEMBERED:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal
