"""API keys' signatures, as Binance defines them, for every process that checks one (the REST
facade and the WebSocket API): the key's record from Redis, its HMAC secret decrypted, the
signature verified (HMAC-SHA256 in hex, or Ed25519 in base64), `timestamp` inside `recvWindow`,
and a signature accepted once (the same request again is a replay).

A refusal is a `SigningError` with Binance's code and words (ccxt maps them to its exception
classes); each edge puts it in its own envelope. Never log a secret, a signature or a payload
that carries one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, cast

import redis.asyncio
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from cryptex import keys
from cryptex.redis_replies import as_text

DEFAULT_RECV_WINDOW_MS: Final = 5_000
MAX_RECV_WINDOW_MS: Final = 60_000
FUTURE_ALLOWANCE_MS: Final = 1_000  # how far ahead of the server a timestamp may be
MAX_KEY_LENGTH: Final = 128
MAX_SIGNATURE_LENGTH: Final = 256
READ, TRADE = "read", "trade"
# Decrypted HMAC secrets by their ciphertext: decrypting costs more than the rest of checking
# a signature. Bounded; a revoked key is gone from Redis, so its cached secret is never used.
_MAX_CACHED_SECRETS: Final = 10_000
# A signed request's key and the first sighting of its signature, in one call: the record
# (empty when there is no such key) and whether the signature is new.
_LOOKUP = """
local first = redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1])
return {redis.call('HGETALL', KEYS[1]), first and 1 or 0}
"""


class SigningCode(IntEnum):
    """Binance's codes for a refused signed request (the REST API's `Code` has the same)."""

    TIMESTAMP_OUTSIDE_WINDOW = -1021
    BAD_SIGNATURE = -1022
    ILLEGAL_PARAMETER = -1100
    MANDATORY_PARAMETER = -1102
    BAD_RECV_WINDOW = -1131
    BAD_CREDENTIALS = -2014
    REJECTED_API_KEY = -2015


class SigningError(Exception):
    def __init__(self, status: int, code: SigningCode, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _bad(code: SigningCode, msg: str) -> SigningError:
    return SigningError(400, code, msg)


def rejected_key() -> SigningError:
    return SigningError(
        401, SigningCode.REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action."
    )


def mandatory(name: str) -> SigningError:
    return _bad(
        SigningCode.MANDATORY_PARAMETER,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def check_key_format(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii():
        raise SigningError(401, SigningCode.BAD_CREDENTIALS, "API-key format invalid.")


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    account: int
    permissions: frozenset[str]
    type: str
    secret: bytes  # the HMAC secret, or the Ed25519 public key's PEM

    def verifies(self, payload: bytes, signature: str) -> bool:
        """Whether `signature` signs `payload`: HMAC-SHA256 in hex, or Ed25519 in base64."""
        if self.type == "HMAC":
            expected = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())
        try:
            public = load_pem_public_key(self.secret)
            assert isinstance(public, Ed25519PublicKey)
            public.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise _bad(SigningCode.ILLEGAL_PARAMETER, f"Illegal characters found in parameter '{name}'")
    return int(text)


def check_timestamp(params: Mapping[str, str], now_ms: int) -> int:
    """The request's receive window (ms), once its timestamp is inside it."""
    timestamp = _int_param(params, "timestamp")
    if timestamp is None:
        raise mandatory("timestamp")
    window = _int_param(params, "recvWindow")
    if window is None:
        window = DEFAULT_RECV_WINDOW_MS
    if not 0 < window <= MAX_RECV_WINDOW_MS:
        raise _bad(
            SigningCode.BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}."
        )
    if timestamp > now_ms + FUTURE_ALLOWANCE_MS:
        raise _bad(
            SigningCode.TIMESTAMP_OUTSIDE_WINDOW,
            f"Timestamp for this request was {FUTURE_ALLOWANCE_MS}ms ahead of the server's time.",
        )
    if now_ms - timestamp > window:
        raise _bad(
            SigningCode.TIMESTAMP_OUTSIDE_WINDOW,
            "Timestamp for this request is outside of the recvWindow.",
        )
    return window


def fernet_key(secret: str) -> bytes:
    derived = HKDF(
        algorithm=SHA256(), length=32, salt=None, info=b"cryptex api key secrets"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


class ApiKeyRecords:
    """Reads API keys from Redis (`keys.api_key`) on every check, so a revoke holds at once in
    every process; `encryption_secret` must be the same in every one of them."""

    def __init__(self, client: redis.asyncio.Redis, encryption_secret: str) -> None:
        self._client = client
        self._fernet = Fernet(fernet_key(encryption_secret))
        self._secrets: dict[bytes, bytes] = {}
        self._lookup = client.register_script(_LOOKUP)

    async def get(self, key: str) -> ApiKey | None:
        """The key, without a signature (routes that need only the key, as Binance's user data
        stream routes)."""
        raw = await self._client.hgetall(keys.api_key(key))
        return self._parse(key, cast(dict[bytes, bytes], raw))

    async def signed_with(
        self, key: str, signature: str, window_ms: int
    ) -> tuple[ApiKey | None, bool]:
        """The key (None if there is none) and whether this is the first request with this
        signature within `window_ms`."""
        flat, first = await self._lookup(
            keys=[keys.api_key(key), keys.signature_seen(key, signature)], args=[window_ms]
        )
        record = dict(zip(flat[::2], flat[1::2], strict=True))
        return self._parse(key, record), bool(first)

    async def verify(
        self,
        key: str,
        payload: bytes,
        signature: str,
        params: Mapping[str, str],
        now_ms: int,
        *,
        trade: bool,
    ) -> ApiKey:
        """The key that signed `payload` (the request's parameters as it signed them) with
        `signature`; `trade`: the key must hold the trade permission."""
        check_key_format(key)
        if not signature:
            raise mandatory("signature")
        window = check_timestamp(params, now_ms)
        # The signature stays marked while the timestamp is acceptable: past that,
        # check_timestamp refuses the request anyway.
        api_key, first = await self.signed_with(
            key, signature[:MAX_SIGNATURE_LENGTH], window + FUTURE_ALLOWANCE_MS
        )
        if api_key is None:
            raise rejected_key()
        if not api_key.verifies(payload, signature):
            raise _bad(SigningCode.BAD_SIGNATURE, "Signature for this request is not valid.")
        if not first:
            raise _bad(
                SigningCode.TIMESTAMP_OUTSIDE_WINDOW,
                "This request was already received: a signed request is accepted once.",
            )
        if trade and TRADE not in api_key.permissions:
            raise rejected_key()
        return api_key

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def _parse(self, key: str, raw: Mapping[bytes, bytes]) -> ApiKey | None:
        if not raw:
            return None
        kind = as_text(raw[b"type"])
        stored = raw[b"secret"]
        if kind == "HMAC":
            secret = self._secrets.get(stored)
            if secret is None:
                secret = self._fernet.decrypt(stored)
                if len(self._secrets) >= _MAX_CACHED_SECRETS:
                    self._secrets.clear()
                self._secrets[stored] = secret
        else:
            secret = stored
        return ApiKey(
            key=key, account=int(raw[b"account"]),
            permissions=frozenset(as_text(raw[b"permissions"]).split(",")), type=kind,
            secret=secret,
        )  # fmt: skip
