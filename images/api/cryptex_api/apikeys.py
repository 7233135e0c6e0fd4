"""API keys for programs (the Binance-compatible API): created, listed and revoked with a bearer
token; a request signed with one acts for its account.

A key lives in Redis (`keys.api_key`); each process keeps the keys it has used, and every signed
request asks Redis whether its key still exists (`cryptex.signing`), so a revoke holds at once in
every API process. An HMAC secret is stored encrypted (Fernet, its key derived from the
settings) and shown once, at creation; an Ed25519 key stores only the public key. Never log a
secret, a signature or a payload that carries one."""

from __future__ import annotations

import secrets
import time
from typing import Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Depends
from pydantic import Field

from cryptex import keys
from cryptex.redis_replies import as_text
from cryptex.signing import READ, TRADE, ApiKeyRecords
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, context, principal
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import Model

router = APIRouter(prefix="/api/v1", tags=["api keys"], route_class=ExactJsonRoute)
MAX_KEYS_PER_ACCOUNT: Final = 30


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


class ApiKeys(ApiKeyRecords):
    """The key store of one API process: what checks a signature, and what makes, lists and
    revokes keys."""

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
            stored = self.encrypt(shown)
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
        self.forget(key)
        return True


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
