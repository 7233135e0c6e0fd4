"""API keys' signatures, as Binance defines them, for every process that checks one (the REST
facade and the WebSocket API): the key's record from Redis, its HMAC secret decrypted, the
signature verified (HMAC-SHA256 in hex, or Ed25519 in base64), `timestamp` inside `recvWindow`,
and a signature accepted once (the same request again is a replay).

Each process keeps the keys it has used, parsed and decrypted; every signed request still asks
Redis whether its key exists, in the same atomic call that marks its signature seen (`admit`,
batched with the other requests of the same event-loop turn), so a revoke holds at once in every
process and a replay sent to any of them is refused.

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
from cryptex.ledger.batcher import ScriptBatcher
from cryptex.ledger.scripts import Call
from cryptex.redis_replies import as_text

DEFAULT_RECV_WINDOW_MS: Final = 5_000
MAX_RECV_WINDOW_MS: Final = 60_000
FUTURE_ALLOWANCE_MS: Final = 1_000  # how far ahead of the server a timestamp may be
MAX_KEY_LENGTH: Final = 128
MAX_SIGNATURE_LENGTH: Final = 256
READ, TRADE = "read", "trade"
# Parsed keys by their id: reading and decrypting a key costs more than the rest of checking
# a signature. Bounded; a revoked key is refused by `admit` and dropped from here.
_MAX_CACHED_KEYS: Final = 10_000


class Admission(IntEnum):
    """What `admit` found: the key gone (revoked), or the signature new or seen before."""

    REVOKED = 0
    FIRST = 1
    REPLAYED = 2


class _InlineScript:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # what SCRIPT LOAD answers


# The key still exists, and the first sighting of the signature, in one atomic call: a revoke
# either comes before it (refused) or after (the request was admitted before the revoke).
_ADMIT: Final = _InlineScript(f"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {Admission.REVOKED:d} end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then return {Admission.FIRST:d} end
return {Admission.REPLAYED:d}
""")


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
    secret: bytes  # the HMAC secret (empty for an Ed25519 key)
    public_key: Ed25519PublicKey | None = None  # an Ed25519 key's

    def verifies(self, payload: bytes, signature: str) -> bool:
        """Whether `signature` signs `payload`: HMAC-SHA256 in hex, or Ed25519 in base64."""
        if self.public_key is None:
            expected = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())
        try:
            self.public_key.verify(base64.b64decode(signature, validate=True), payload)
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
    """API keys from Redis (`keys.api_key`), kept once read; `encryption_secret` must be the
    same in every process."""

    def __init__(self, client: redis.asyncio.Redis, encryption_secret: str) -> None:
        self._client = client
        self._fernet = Fernet(fernet_key(encryption_secret))
        self._known: dict[str, ApiKey] = {}
        # Requests of one event-loop turn are admitted in one pipeline.
        self._admit = ScriptBatcher(client, _ADMIT)

    async def get(self, key: str) -> ApiKey | None:
        """The key as Redis holds it now, without a signature (routes that need only the key, as
        Binance's user data stream routes); None if there is no such key."""
        raw = cast(dict[bytes, bytes], await self._client.hgetall(keys.api_key(key)))
        if not raw:
            self.forget(key)
            return None
        known = self._known.get(key)
        return known if known is not None else self._keep(self._parse(key, raw))

    async def find(self, key: str) -> ApiKey | None:
        """The key, from this process's cache or from Redis; None if there is no such key. Only
        `admit` tells whether a cached key is still valid."""
        known = self._known.get(key)
        if known is not None:
            return known
        raw = cast(dict[bytes, bytes], await self._client.hgetall(keys.api_key(key)))
        return self._keep(self._parse(key, raw)) if raw else None

    async def admit(self, api_key: ApiKey, signature: str, window_ms: int) -> Admission:
        """Whether the key still exists and this is the first request with this signature
        within `window_ms` (the mark is kept that long)."""
        admission = Admission(int(await self._admit(Call(
            [keys.api_key(api_key.key), keys.signature_seen(api_key.key, signature)],
            [window_ms],
        ))))  # fmt: skip
        if admission is Admission.REVOKED:
            self.forget(api_key.key)
        return admission

    def forget(self, key: str) -> None:
        """Drop a key this process kept (it was revoked)."""
        self._known.pop(key, None)

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
        api_key = await self.find(key)
        if api_key is None:
            raise rejected_key()
        if not api_key.verifies(payload, signature):
            raise _bad(SigningCode.BAD_SIGNATURE, "Signature for this request is not valid.")
        if trade and TRADE not in api_key.permissions:
            raise rejected_key()
        # Only a well-signed request is marked: nobody else can fill the marks. A mark stays
        # while the timestamp is acceptable: past that, check_timestamp refuses the request.
        admission = await self.admit(
            api_key, signature[:MAX_SIGNATURE_LENGTH], window + FUTURE_ALLOWANCE_MS
        )
        if admission is Admission.REVOKED:
            raise rejected_key()
        if admission is Admission.REPLAYED:
            raise _bad(
                SigningCode.TIMESTAMP_OUTSIDE_WINDOW,
                "This request was already received: a signed request is accepted once.",
            )
        return api_key

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def _keep(self, api_key: ApiKey) -> ApiKey:
        if len(self._known) >= _MAX_CACHED_KEYS:
            self._known.clear()
        self._known[api_key.key] = api_key
        return api_key

    def _parse(self, key: str, raw: Mapping[bytes, bytes]) -> ApiKey:
        kind = as_text(raw[b"type"])
        account = int(raw[b"account"])
        permissions = frozenset(as_text(raw[b"permissions"]).split(","))
        if kind == "HMAC":
            return ApiKey(key, account, permissions, kind, self._fernet.decrypt(raw[b"secret"]))
        public = load_pem_public_key(raw[b"secret"])
        assert isinstance(public, Ed25519PublicKey)  # only such keys are stored
        return ApiKey(key, account, permissions, kind, b"", public)
