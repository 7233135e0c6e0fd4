"""Admin routes: deposits and withdrawals, each once per reference."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from cryptex.money import MoneyError
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, admin, context
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import Transfer, TransferOut

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=ExactJsonRoute)


async def _units(ctx: ApiContext, transfer: Transfer) -> tuple[int, str]:
    spec = (await ctx.markets.assets()).get(transfer.asset)
    if spec is None:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"asset: unknown asset {transfer.asset}")
    try:
        return spec.to_units(transfer.amount, "amount"), spec.symbol
    except MoneyError as error:
        raise bad_request(Code.ILLEGAL_PARAMETER, str(error)) from None


@router.post("/deposits", response_model=TransferOut)
async def deposit(
    transfer: Transfer, _: Principal = Depends(admin), ctx: ApiContext = Depends(context)
) -> TransferOut:
    """Credit an account; the same `reference` again changes nothing."""
    units, asset = await _units(ctx, transfer)
    exists = await ctx.db.fetchval("SELECT 1 FROM users WHERE id = $1", transfer.account)
    if not exists:
        raise ApiError(404, Code.NOT_FOUND, f"account: no account {transfer.account}")
    after = await ctx.ledger.deposit(
        transfer.account, asset, units, transfer.reference, int(time.time() * 1000)
    )
    spec = (await ctx.markets.assets())[asset]
    return TransferOut(account=transfer.account, asset=asset, free=spec.format(after))


@router.post("/withdrawals", response_model=TransferOut)
async def withdraw(
    transfer: Transfer, _: Principal = Depends(admin), ctx: ApiContext = Depends(context)
) -> TransferOut:
    """Debit an account's available funds (never locked ones); refused if they are short."""
    units, asset = await _units(ctx, transfer)
    after = await ctx.ledger.withdraw(
        transfer.account, asset, units, transfer.reference, int(time.time() * 1000)
    )
    if after is None:
        raise bad_request(Code.ORDER_REJECTED, "insufficient available balance")
    spec = (await ctx.markets.assets())[asset]
    return TransferOut(account=transfer.account, asset=asset, free=spec.format(after))
