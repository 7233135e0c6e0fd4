"""`cryptex.signing.ApiKeyRecords`, as two processes (the REST facade and the WebSocket server,
or two API processes) use it on one Redis: each keeps the keys it has read, yet a replay sent
to the other is refused and a revoke holds at once in both."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cryptex import keys
from cryptex.redis_access import connect_async
from cryptex.signing import ApiKeyRecords, SigningCode, SigningError
from tests.servers import RedisServer

ENCRYPTION_SECRET = "a secret both processes share"
HMAC_SECRET = "0123456789abcdef" * 4


def _params(now_ms: int, nonce: int) -> tuple[dict[str, str], bytes]:
    params = {"symbol": "SOLUSDC", "newClientOrderId": f"n{nonce}", "timestamp": str(now_ms)}
    return params, "&".join(f"{name}={value}" for name, value in params.items()).encode()


def _hmac(payload: bytes) -> str:
    return hmac.new(HMAC_SECRET.encode(), payload, hashlib.sha256).hexdigest()


async def _refused(
    records: ApiKeyRecords, key: str, payload: bytes, signature: str, params: dict[str, str]
) -> SigningCode:
    with pytest.raises(SigningError) as refused:
        await records.verify(key, payload, signature, params, time.time_ns() // 1_000_000,
                             trade=True)  # fmt: skip
    return refused.value.code


async def test_a_replay_and_a_revoke_hold_in_every_process(
    redis_client: object, redis_server: RedisServer
) -> None:
    client = connect_async(redis_server.url)
    first, second = (
        ApiKeyRecords(client, ENCRYPTION_SECRET),
        ApiKeyRecords(client, ENCRYPTION_SECRET),
    )
    await client.hset(keys.api_key("k1"), mapping={
        "account": 7, "permissions": "read,trade", "type": "HMAC",
        "secret": first.encrypt(HMAC_SECRET),
    })  # fmt: skip
    try:
        now = time.time_ns() // 1_000_000
        params, payload = _params(now, 1)
        signature = _hmac(payload)
        found = await first.verify("k1", payload, signature, params, now, trade=True)
        assert (found.account, found.type) == (7, "HMAC")
        # The same request again, to either process: a replay.
        for records in (first, second):
            code = await _refused(records, "k1", payload, signature, params)
            assert code is SigningCode.TIMESTAMP_OUTSIDE_WINDOW
        # Both now hold the key; a bad signature is still refused.
        other_params, other_payload = _params(now, 2)
        await second.verify("k1", other_payload, _hmac(other_payload), other_params, now,
                            trade=True)  # fmt: skip
        assert await _refused(second, "k1", other_payload, "0" * 64, other_params) is (
            SigningCode.BAD_SIGNATURE
        )
        # Revoked (the API's revoke deletes the record): refused at once by both processes.
        await client.delete(keys.api_key("k1"))
        for nonce, records in enumerate((first, second), start=3):
            fresh_params, fresh_payload = _params(now, nonce)
            code = await _refused(records, "k1", fresh_payload, _hmac(fresh_payload), fresh_params)
            assert code is SigningCode.REJECTED_API_KEY
            assert await records.get("k1") is None
    finally:
        await client.aclose()


async def test_an_ed25519_key_verifies_and_a_read_key_cannot_trade(
    redis_client: object, redis_server: RedisServer
) -> None:
    client = connect_async(redis_server.url)
    records = ApiKeyRecords(client, ENCRYPTION_SECRET)
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    await client.hset(keys.api_key("k2"), mapping={
        "account": 9, "permissions": "read", "type": "ED25519", "secret": pem,
    })  # fmt: skip
    try:
        now = time.time_ns() // 1_000_000
        params, payload = _params(now, 1)
        signature = base64.b64encode(private.sign(payload)).decode()
        found = await records.verify("k2", payload, signature, params, now, trade=False)
        assert found.account == 9
        params, payload = _params(now, 2)
        signature = base64.b64encode(private.sign(payload)).decode()
        assert await _refused(records, "k2", payload, signature, params) is (
            SigningCode.REJECTED_API_KEY
        )
    finally:
        await client.aclose()
