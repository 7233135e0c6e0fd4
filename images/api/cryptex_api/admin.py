"""Admin routes: deposits and withdrawals, each once per reference.

A reference names one transfer: sent again with the same account, asset, amount and direction
it answers what the first one did (a retry is safe); with anything else it is refused with 409
and changes nothing."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from cryptex.ledger import TransferOutcome, TransferResult
from cryptex.markets import AssetSpec
from cryptex.money import MoneyError
from cryptex.tokens import Principal
from cryptex_api.context import ApiContext, admin, context
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import Transfer, TransferOut

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], route_class=ExactJsonRoute)


async def _units(ctx: ApiContext, transfer: Transfer) -> tuple[int, AssetSpec]:
    spec = (await ctx.markets.assets()).get(transfer.asset)
    if spec is None:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"asset: unknown asset {transfer.asset}")
    try:
        return spec.to_units(transfer.amount, "amount"), spec
    except MoneyError as error:
        raise bad_request(Code.ILLEGAL_PARAMETER, str(error)) from None


def _answer(transfer: Transfer, spec: AssetSpec, result: TransferResult) -> TransferOut:
    """What the transfer did (or did the first time its reference was used), or why not."""
    if result.ok:
        return TransferOut(
            account=transfer.account, asset=spec.symbol, free=spec.format(result.available)
        )
    if result.outcome is TransferOutcome.INSUFFICIENT_FUNDS:
        raise bad_request(Code.ORDER_REJECTED, "insufficient available balance")
    if result.outcome is TransferOutcome.REFERENCE_REUSED:
        raise ApiError(
            409,
            Code.TRANSFER_REFERENCE_REUSED,
            f"reference: {transfer.reference!r} names another transfer (of another account, "
            "asset, amount or direction): use a new reference",
        )
    raise bad_request(
        Code.BALANCE_LIMIT,
        f"amount: the {spec.symbol} balance would pass the largest amount the ledger holds",
    )


@router.post("/deposits", response_model=TransferOut)
async def deposit(
    transfer: Transfer, _: Principal = Depends(admin), ctx: ApiContext = Depends(context)
) -> TransferOut:
    """Credit an account, once per `reference`."""
    units, spec = await _units(ctx, transfer)
    exists = await ctx.db.fetchval("SELECT 1 FROM users WHERE id = $1", transfer.account)
    if not exists:
        raise ApiError(404, Code.NOT_FOUND, f"account: no account {transfer.account}")
    result = await ctx.ledger.deposit(
        transfer.account, spec.symbol, units, transfer.reference, int(time.time() * 1000)
    )
    return _answer(transfer, spec, result)


@router.post("/withdrawals", response_model=TransferOut)
async def withdraw(
    transfer: Transfer, _: Principal = Depends(admin), ctx: ApiContext = Depends(context)
) -> TransferOut:
    """Debit an account's available funds (never locked ones), once per `reference`; refused
    if they are short."""
    units, spec = await _units(ctx, transfer)
    result = await ctx.ledger.withdraw(
        transfer.account, spec.symbol, units, transfer.reference, int(time.time() * 1000)
    )
    return _answer(transfer, spec, result)
