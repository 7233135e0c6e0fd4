"""Sign-up, sign-in, the caller's account, balances, and the dev faucet."""

from __future__ import annotations

import time
import uuid

import asyncpg
from fastapi import APIRouter, Depends, Request

from cryptex.money import MoneyError
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, context, principal
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import (
    AccountOut,
    BalanceOut,
    Credentials,
    FaucetRequest,
    SignupResponse,
    Token,
)
from cryptex_api.security import hash_password, verify_password

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=ExactJsonRoute)
# The faucet's ceiling per call, in whole units of any asset: it funds demos, not whales.
FAUCET_MAX_WHOLE_UNITS = 1_000_000


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/signup", status_code=201, response_model=SignupResponse)
async def signup(
    credentials: Credentials, request: Request, ctx: ApiContext = Depends(context)
) -> SignupResponse:
    """Create a trading account. The email is its login; the password is stored as argon2."""
    ctx.login_limiter.take(("signup", _client_address(request)))
    password_hash = await hash_password(credentials.password)
    try:
        account = await ctx.db.fetchval(
            "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
            credentials.email.lower(),
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise ApiError(409, Code.EMAIL_TAKEN, "an account with this email exists") from None
    return SignupResponse(account_id=account)


@router.post("/signin", response_model=Token)
async def signin(
    credentials: Credentials, request: Request, ctx: ApiContext = Depends(context)
) -> Token:
    """Exchange email and password for a bearer token."""
    ctx.login_limiter.take(("signin", _client_address(request)))
    row = await ctx.db.fetchrow(
        "SELECT id, password_hash, role FROM users WHERE email = $1", credentials.email.lower()
    )
    if not await verify_password(row["password_hash"] if row else None, credentials.password):
        raise ApiError(401, Code.BAD_CREDENTIALS, "wrong email or password")
    assert row is not None
    who = Principal(row["id"], row["role"])
    return Token(token=ctx.tokens.issue(who), expires_in=ctx.tokens.ttl_s, account_id=who.account)


@router.get("/me", response_model=AccountOut)
async def me(who: Principal = Depends(principal), ctx: ApiContext = Depends(context)) -> AccountOut:
    """The caller's account: its id, email and role, as stored now."""
    row = await ctx.db.fetchrow("SELECT email, role FROM users WHERE id = $1", who.account)
    if row is None:  # a valid token for an account this database does not hold
        raise ApiError(401, Code.UNAUTHORIZED, "no account for this token",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return AccountOut(account_id=who.account, email=row["email"], role=row["role"])


@router.get("/balances", response_model=list[BalanceOut])
async def balances(
    who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> list[BalanceOut]:
    """Available (`free`) and `locked` funds of every asset the account holds."""
    assets = await ctx.markets.assets()
    held = await ctx.ledger.balances(who.account)
    out = []
    for asset, balance in held.items():
        spec = assets.get(asset)
        if spec is None:
            continue  # an asset no listed market trades any more
        out.append(
            BalanceOut(
                asset=asset, free=spec.format(balance.available), locked=spec.format(balance.locked)
            )
        )
    return out


@router.post("/faucet", response_model=list[BalanceOut], include_in_schema=False)
async def faucet(
    gift: FaucetRequest, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> list[BalanceOut]:
    """Dev stacks only: credit the caller with test funds."""
    if not ctx.settings.faucet:
        raise ApiError(404, Code.NOT_FOUND, "not found")
    spec = (await ctx.markets.assets()).get(gift.asset)
    if spec is None:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"asset: unknown asset {gift.asset}")
    try:
        units = spec.to_units(gift.amount, "amount")
    except MoneyError as error:
        raise bad_request(Code.ILLEGAL_PARAMETER, str(error)) from None
    if units > FAUCET_MAX_WHOLE_UNITS * 10**spec.decimals:
        raise bad_request(Code.ILLEGAL_PARAMETER, "amount: more than the faucet gives at once")
    gift_result = await ctx.ledger.deposit(
        who.account, spec.symbol, units, f"faucet-{uuid.uuid4().hex}", int(time.time() * 1000)
    )
    if not gift_result.ok:  # the balance would pass the largest amount the ledger holds
        raise bad_request(Code.BALANCE_LIMIT, f"amount: the faucet cannot add more {spec.symbol}")
    return await balances(who, ctx)
