"""API keys for programs (the Binance-compatible API): created, listed and revoked with a bearer
token; a request signed with one acts for its account.

A key lives in Redis (`keys.api_key`), read on every signed request, so a revoke holds at once
in every API process. An HMAC secret is stored encrypted (Fernet, its key derived from the
settings) and shown once, at creation; an Ed25519 key stores only the public key. Never log a
secret, a signature or a payload that carries one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal

import redis.asyncio
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Depends
from pydantic import Field

from cryptex import keys
from cryptex.redis_replies import as_text
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, context, principal
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import Model

router = APIRouter(prefix="/api/v1", tags=["api keys"], route_class=ExactJsonRoute)
MAX_KEYS_PER_ACCOUNT: Final = 30
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


class ApiKeyRequest(Model):
    label: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 _.\-]+$")
    permissions: list[Literal["read", "trade"]] = Field(min_length=1, max_length=2)
    type: Literal["HMAC", "ED25519"] = "HMAC"
    public_key: str | None = Field(default=None, alias="publicKey", max_length=1_000)


class ApiKeyCreated(Model):
    api_key: str = Field(serialization_alias="apiKey")
    secret: str | None  # the HMAC secret, shown this once; None for an Ed25519 key
    label: str
    permissions: list[str]
    type: str


class ApiKeyOut(Model):
    api_key: str = Field(serialization_alias="apiKey")
    label: str
    permissions: list[str]
    type: str
    created: int  # epoch ms


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


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(
        algorithm=SHA256(), length=32, salt=None, info=b"cryptex api key secrets"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


class ApiKeys:
    """The key store of one API process."""

    def __init__(self, client: redis.asyncio.Redis, encryption_secret: str) -> None:
        self._client = client
        self._fernet = Fernet(_fernet_key(encryption_secret))
        self._secrets: dict[bytes, bytes] = {}
        self._lookup = client.register_script(_LOOKUP)

    async def create(self, account: int, request: ApiKeyRequest) -> ApiKeyCreated:
        if await self._client.scard(keys.account_api_keys(account)) >= MAX_KEYS_PER_ACCOUNT:
            raise bad_request(
                Code.ILLEGAL_PARAMETER, f"an account holds at most {MAX_KEYS_PER_ACCOUNT} API keys"
            )
        key = secrets.token_hex(32)
        shown: str | None = None
        if request.type == "HMAC":
            if request.public_key is not None:
                raise bad_request(Code.ILLEGAL_PARAMETER, "publicKey: only for type ED25519")
            shown = secrets.token_hex(32)
            stored = self._fernet.encrypt(shown.encode())
        else:
            stored = _ed25519_pem(request.public_key)
        permissions: list[str] = sorted(set(request.permissions))
        if TRADE in permissions and READ not in permissions:
            raise bad_request(Code.ILLEGAL_PARAMETER, "permissions: trade needs read")
        record = (
            "account", account, "permissions", ",".join(permissions), "type", request.type,
            "label", request.label, "created", time.time_ns() // 1_000_000, "secret", stored,
        )  # fmt: skip
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.api_key(key), items=list(record))
            pipe.sadd(keys.account_api_keys(account), key)
            await pipe.execute()
        return ApiKeyCreated(
            api_key=key, secret=shown, label=request.label, permissions=permissions,
            type=request.type,
        )  # fmt: skip

    async def list(self, account: int) -> list[ApiKeyOut]:
        found = sorted(
            as_text(k) for k in await self._client.smembers(keys.account_api_keys(account))
        )
        async with self._client.pipeline(transaction=False) as pipe:
            for key in found:
                pipe.hmget(keys.api_key(key), "label", "permissions", "type", "created")
            rows = await pipe.execute()
        out = []
        for key, (label, permissions, kind, created) in zip(found, rows, strict=True):
            if label is None:
                continue  # revoked while listing
            out.append(ApiKeyOut(
                api_key=key, label=as_text(label), permissions=as_text(permissions).split(","),
                type=as_text(kind), created=int(created),
            ))  # fmt: skip
        return sorted(out, key=lambda k: k.created)

    async def revoke(self, account: int, key: str) -> bool:
        owner = await self._client.hget(keys.api_key(key), "account")
        if owner is None or int(owner) != account:
            return False
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.api_key(key))
            pipe.srem(keys.account_api_keys(account), key)
            await pipe.execute()
        return True

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

    def _parse(self, key: str, raw: dict[bytes, bytes]) -> ApiKey | None:
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


def _ed25519_pem(public_key: str | None) -> bytes:
    """The PEM of an Ed25519 public key given as PEM, refusing anything else."""
    if not public_key:
        raise bad_request(Code.MANDATORY_PARAMETER, "publicKey: is required for type ED25519")
    try:
        loaded = load_pem_public_key(public_key.encode())
    except ValueError:
        loaded = None
    if not isinstance(loaded, Ed25519PublicKey):
        raise bad_request(Code.ILLEGAL_PARAMETER, "publicKey: not an Ed25519 public key in PEM")
    return public_key.strip().encode() + b"\n"


@router.post("/apikeys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(
    request: ApiKeyRequest, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> ApiKeyCreated:
    """A new API key for the caller's account. An HMAC key's secret is in this answer only."""
    return await ctx.api_keys.create(who.account, request)


@router.get("/apikeys", response_model=list[ApiKeyOut])
async def list_api_keys(
    who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> list[ApiKeyOut]:
    """The caller's API keys, oldest first (never a secret)."""
    return await ctx.api_keys.list(who.account)


@router.delete("/apikeys/{api_key}", status_code=204)
async def revoke_api_key(
    api_key: str, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> None:
    """Revoke a key: every API process refuses it from now on."""
    if len(api_key) > 128 or not await ctx.api_keys.revoke(who.account, api_key):
        raise ApiError(404, Code.NOT_FOUND, "no such API key")
