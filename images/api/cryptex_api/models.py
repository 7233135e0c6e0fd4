"""The REST edge: request and response bodies (pydantic). Amounts are decimal strings; a number
in a request is taken exactly as written (see `exact_json`). `translate` maps these to and
from the wire structs; nothing else does."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

# A decimal as text: JSON numbers arrive here as the literal text the client sent.
Decimal = str

# The latest time a request may name, in epoch ms (9999-12-31T23:59:59.999Z): the last instant
# that both Python's datetime and PostgreSQL's timestamptz hold, so a later one is a clear 400,
# not an overflow in the query.
MAX_TIME_MS: Final = 253_402_300_799_999


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ------------------------------------------------------------------ accounts


class Credentials(Model):
    # No whitespace or control characters (PostgreSQL text cannot even hold a NUL).
    email: str = Field(
        min_length=3, max_length=254,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
    )  # fmt: skip
    password: str = Field(min_length=8, max_length=256)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "correct horse"}]},
    )


class SignupResponse(Model):
    account_id: int = Field(serialization_alias="accountId")


class Token(Model):
    token: str
    token_type: Literal["Bearer"] = Field(default="Bearer", serialization_alias="tokenType")
    expires_in: int = Field(serialization_alias="expiresIn")  # seconds
    account_id: int = Field(serialization_alias="accountId")


class AccountOut(Model):
    """The caller's own account."""

    account_id: int = Field(serialization_alias="accountId")
    email: str
    role: Literal["trader", "admin"]


class Transfer(Model):
    """An admin's deposit or withdrawal; `reference` makes it happen once."""

    account: int = Field(ge=1)
    asset: str = Field(min_length=1, max_length=10)
    amount: Decimal
    reference: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"account": 7, "asset": "USDC", "amount": "1000", "reference": "bank-42"}]
        },
    )


class FaucetRequest(Model):
    asset: str = Field(min_length=1, max_length=10)
    amount: Decimal


class BalanceOut(Model):
    asset: str
    free: Decimal
    locked: Decimal


class TransferOut(Model):
    account: int
    asset: str
    free: Decimal


# ------------------------------------------------------------------ orders


class OrderRequest(Model):
    side: Literal["buy", "sell", "BUY", "SELL"] = Field(
        validation_alias=AliasChoices("kind", "side")
    )
    type: Literal[
        "limit", "market", "stop_loss", "stop_loss_limit", "take_profit", "take_profit_limit",
        "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
    ] = "limit"  # fmt: skip
    price: Decimal | None = None
    # A stop order's trigger: it waits until the last trade price reaches it (quote per base).
    stop_price: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("stopPrice", "stop_price")
    )
    quantity: Decimal | None = None  # lots; a market order may give quoteOrderQty instead
    # A market order's amount of the quote asset to spend (buy) or receive (sell).
    quote_order_qty: Decimal | None = Field(
        default=None, validation_alias=AliasChoices("quoteOrderQty", "quote_order_qty")
    )
    market: str = Field(max_length=32, validation_alias=AliasChoices("market", "symbol"))
    time_in_force: Literal["GTC", "IOC", "FOK"] | None = Field(
        default=None, validation_alias=AliasChoices("timeInForce", "time_in_force")
    )
    post_only: bool = Field(default=False, validation_alias=AliasChoices("postOnly", "post_only"))
    client_order_id: str = Field(
        default="", max_length=36, pattern=r"^[A-Za-z0-9_\-]*$",
        validation_alias=AliasChoices("clientOrderId", "client_order_id"),
    )  # fmt: skip
    self_trade_prevention: Literal["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"] = Field(
        default="EXPIRE_MAKER",
        validation_alias=AliasChoices("selfTradePrevention", "self_trade_prevention"),
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "buy", "type": "limit", "price": "12000", "quantity": "20",
                 "market": "sol/usdc"},
                {"side": "sell", "type": "market", "quantity": "1.5", "market": "SOL_USDC"},
                {"side": "buy", "type": "market", "quoteOrderQty": "250", "market": "SOL_USDC"},
                {"side": "sell", "type": "STOP_LOSS_LIMIT", "stopPrice": "140", "price": "139.5",
                 "quantity": "2", "market": "SOL_USDC"},
                {"kind": "buy", "type": "limit", "price": "149.5", "quantity": "2",
                 "market": "SOL-USDC", "timeInForce": "IOC", "clientOrderId": "my-1"},
            ]
        },
    )  # fmt: skip


class AmendRequest(Model):
    """Lower an open order's quantity, keeping its place in the queue."""

    # The order's new whole quantity, executed part included (Binance's newQty).
    new_qty: Decimal = Field(validation_alias=AliasChoices("newQty", "new_qty"))

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"newQty": "1.5"}]})


class FillOut(Model):
    price: Decimal
    qty: Decimal
    trade_id: int = Field(serialization_alias="tradeId")


class OrderOut(Model):
    order_id: int = Field(serialization_alias="orderId")
    client_order_id: str = Field(serialization_alias="clientOrderId")
    market: str
    side: str
    type: str
    time_in_force: str = Field(serialization_alias="timeInForce")
    price: Decimal
    quantity: Decimal
    status: str
    executed_qty: Decimal = Field(serialization_alias="executedQty")
    cumulative_quote_qty: Decimal = Field(serialization_alias="cumulativeQuoteQty")
    # The quote amount a market order was given instead of a quantity (its quantity is then
    # the most lots that amount could buy or sell when it was placed).
    quote_order_qty: Decimal | None = Field(default=None, serialization_alias="quoteOrderQty")
    stop_price: Decimal | None = Field(default=None, serialization_alias="stopPrice")
    reason: str = ""
    fills: list[FillOut] = []
    created: int  # epoch ms
    updated: int


class QuoteRequest(Model):
    side: Literal["buy", "sell", "BUY", "SELL"] = Field(
        validation_alias=AliasChoices("kind", "side")
    )
    quantity: Decimal
    market: str = Field(max_length=32, validation_alias=AliasChoices("market", "symbol"))


class QuoteOut(Model):
    market: str
    side: str
    quantity: Decimal
    fillable_qty: Decimal = Field(serialization_alias="fillableQty")
    average_price: Decimal | None = Field(serialization_alias="averagePrice")
    total: Decimal  # quote asset, before fees
    fully_fillable: bool = Field(serialization_alias="fullyFillable")
    last_update_id: int = Field(serialization_alias="lastUpdateId")


# ------------------------------------------------------------------ market data


class MarketOut(Model):
    symbol: str
    base: str
    quote: str
    base_decimals: int = Field(serialization_alias="baseDecimals")
    quote_decimals: int = Field(serialization_alias="quoteDecimals")
    tick_size: Decimal = Field(serialization_alias="tickSize")
    lot_size: Decimal = Field(serialization_alias="lotSize")
    min_qty: Decimal = Field(serialization_alias="minQty")
    max_qty: Decimal = Field(serialization_alias="maxQty")
    min_notional: Decimal = Field(serialization_alias="minNotional")
    maker_fee_bps: int = Field(serialization_alias="makerFeeBps")
    taker_fee_bps: int = Field(serialization_alias="takerFeeBps")
    trading_state: str = Field(serialization_alias="tradingState")
    max_open_orders: int = Field(serialization_alias="maxOpenOrders")  # per account
    order_types: list[str] = Field(serialization_alias="orderTypes")  # the types it takes


class DepthOut(Model):
    symbol: str
    last_update_id: int = Field(serialization_alias="lastUpdateId")
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


class TradeOut(Model):
    id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal = Field(serialization_alias="quoteQty")
    time: int
    is_buyer_maker: bool = Field(serialization_alias="isBuyerMaker")


class MyTradeOut(Model):
    """One of your trades, from your side of it (a self-trade is two, one per order)."""

    market: str
    trade_id: int = Field(serialization_alias="tradeId")  # counted per market
    order_id: int = Field(serialization_alias="orderId")
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal = Field(serialization_alias="quoteQty")
    fee: Decimal
    fee_asset: str = Field(serialization_alias="feeAsset")
    maker: bool
    time: int  # epoch ms


class TickerOut(Model):
    symbol: str
    last_price: Decimal | None = Field(serialization_alias="lastPrice")
    open_price: Decimal | None = Field(serialization_alias="openPrice")
    high_price: Decimal | None = Field(serialization_alias="highPrice")
    low_price: Decimal | None = Field(serialization_alias="lowPrice")
    volume: Decimal
    quote_volume: Decimal = Field(serialization_alias="quoteVolume")
    count: int
    open_time: int | None = Field(serialization_alias="openTime")
    close_time: int | None = Field(serialization_alias="closeTime")
