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
