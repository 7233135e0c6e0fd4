"""Binance's older user data stream flow: `POST /api/v3/userDataStream` (the API key only, no
signature) hands out a listenKey for the key's account, `PUT` keeps it alive, `DELETE` ends it.
The WebSocket server carries the account's events at `/ws/<listenKey>` while the key lives in
Redis (`keys.listen_key`); it expires `LISTEN_KEY_TTL_MS` after its last keep-alive."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl

import msgspec
from fastapi import APIRouter, Request, Response

from cryptex import keys
from cryptex.binance import LISTEN_KEY_TTL_MS
from cryptex.signing import ApiKey, SigningError, check_key_format, rejected_key
from cryptex_api.binance.auth import refusal
from cryptex_api.binance.rest import BinanceRoute
from cryptex_api.context import ApiContext
from cryptex_api.errors import Code, bad_request

router = APIRouter(prefix="/api/v3", tags=["binance"], route_class=BinanceRoute)
_MAX_LISTEN_KEY_LENGTH = 128


async def _key(request: Request, ctx: ApiContext) -> ApiKey:
    key = request.headers.get("x-mbx-apikey", "")
    try:
        check_key_format(key)
        found = await ctx.api_keys.get(key)
        if found is None:
            raise rejected_key()
    except SigningError as refused:
        raise refusal(refused) from None
    return found


async def _listen_key(request: Request, ctx: ApiContext, api_key: ApiKey) -> str:
    """The caller's listenKey named in the query or the form body."""
    params = dict(parse_qsl(request.url.query))
    params.update(parse_qsl((await request.body()).decode("ascii", "replace")))
    listen_key = params.get("listenKey", "")
    if not listen_key:
        raise bad_request(
            Code.MANDATORY_PARAMETER,
            "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.",
        )
    owner = (
        await ctx.redis.get(keys.listen_key(listen_key))
        if len(listen_key) <= _MAX_LISTEN_KEY_LENGTH
        else None
    )
    if owner is None or int(owner) != api_key.account:
        raise bad_request(Code.INVALID_LISTEN_KEY, "This listenKey does not exist.")
    return listen_key


def _json(payload: object) -> Response:
    return Response(msgspec.json.encode(payload), media_type="application/json")


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


@router.post("/userDataStream")
async def start_user_data_stream(request: Request) -> Response:
    """A new listenKey for the API key's account, alive for an hour unless kept alive."""
    ctx = _context(request)
    api_key = await _key(request, ctx)
    listen_key = secrets.token_urlsafe(45)  # 60 characters, as Binance's
    await ctx.redis.set(keys.listen_key(listen_key), api_key.account, px=LISTEN_KEY_TTL_MS)
    return _json({"listenKey": listen_key})


@router.put("/userDataStream")
async def keep_alive_user_data_stream(request: Request) -> Response:
    ctx = _context(request)
    listen_key = await _listen_key(request, ctx, await _key(request, ctx))
    if not await ctx.redis.pexpire(keys.listen_key(listen_key), LISTEN_KEY_TTL_MS):
        raise bad_request(Code.INVALID_LISTEN_KEY, "This listenKey does not exist.")
    return _json({})


@router.delete("/userDataStream")
async def close_user_data_stream(request: Request) -> Response:
    """Ends the listenKey: its streams end within the WebSocket server's check interval."""
    ctx = _context(request)
    listen_key = await _listen_key(request, ctx, await _key(request, ctx))
    await ctx.redis.delete(keys.listen_key(listen_key))
    return _json({})
