"""`MmSettings`: the market maker's settings from the environment (`CRYPTEX_MM_` prefix).

The bot is a client of the public API, so it shares no setting with the servers: its own
prefix keeps `CRYPTEX_MM_METRICS_PORT` apart from the API's and the WebSocket server's when
they run in one environment. Amounts are decimal strings, checked against each market's rules
once they are read from `GET /api/v1/markets`."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cryptex.markets import MarketError, canonical_symbol
from cryptex.money import MoneyError, parse_decimal

PerMarket = Annotated[dict[str, str], NoDecode]


class MmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRYPTEX_MM_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
    ws_url: str = "ws://127.0.0.1:8001/"  # empty: no WebSocket, REST polling only
    email: str = Field(description="the bot's account")
    password: SecretStr = Field(description="the bot's password")
    sign_up: bool = False  # create the account first (an existing one is fine)

    markets: Annotated[list[str], NoDecode] = ["SOL_USDC"]
    levels: int = Field(default=3, ge=1, le=50)  # orders a side
    spread_bps: int = Field(default=20, ge=0, le=5_000)  # between the best bid and best ask
    level_step_bps: int = Field(default=10, ge=0, le=1_000)  # between levels of one side
    sizes: PerMarket = {}  # base quantity a level, per market
    size_notional: str = "50"  # quote amount a level, for markets without a size
    prices: PerMarket = {}  # initial reference price; else the book's mid or last trade
    price_feed_url: str = ""  # GET it (`{symbol}` replaced) for a JSON price, each interval
    seed: int = 1
    volatility_bps: float = Field(default=5.0, ge=0, le=1_000)  # one step of the random walk
    interval_s: float = Field(default=1.0, gt=0)  # one step, one look at the quotes
    requote_bps: int = Field(default=10, ge=0, le=5_000)  # a move that rebuilds the quotes
    skew_bps: int = Field(default=20, ge=0, le=5_000)  # centre shift at the inventory limit
    targets: PerMarket = {}  # base holding to aim at; else half the market's value
    inventory_limits: PerMarket = {}  # distance from target that stops a side
    post_only: bool = True  # a quote that would take is refused, never executed
    cancel_on_exit: bool = True

    resync_s: float = Field(default=10.0, gt=0)  # balances and open orders re-read from REST
    request_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=4, ge=0)  # of one request that failed for a while
    backoff_base_s: float = Field(default=0.25, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)
    shutdown_timeout_s: float = Field(default=10.0, gt=0)  # to cancel every order at exit

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9104, ge=0, le=65_535)

    @field_validator("markets", mode="before")
    @classmethod
    def _symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else _split(text)
        else:
            items = value
        if not isinstance(items, list):
            return items
        try:
            symbols = [canonical_symbol(str(item)) for item in items if str(item).strip()]
        except MarketError as error:
            raise ValueError(str(error)) from None
        if not symbols:
            raise ValueError("name at least one market")
        if len(set(symbols)) != len(symbols):
            raise ValueError("a market is named twice")
        return symbols

    @field_validator("sizes", "prices", "targets", "inventory_limits", mode="before")
    @classmethod
    def _per_market(cls, value: Any, info: ValidationInfo) -> Any:
        """`SOL_USDC=150,BTC_USDC=60000` or a JSON object; keys are market symbols."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                value = json.loads(text, parse_float=str, parse_int=str)
            else:
                pairs = [item.split("=", 1) for item in _split(text)]
                if any(len(pair) != 2 for pair in pairs):
                    raise ValueError("expected SYMBOL=amount pairs separated by commas")
                value = {key.strip(): amount.strip() for key, amount in pairs}
        if not isinstance(value, dict):
            return value
        out: dict[str, str] = {}
        for key, amount in value.items():
            try:
                symbol = canonical_symbol(str(key))
                parse_decimal(str(amount), symbol)
            except (MarketError, MoneyError) as error:
                raise ValueError(str(error)) from None
            if "markets" in info.data and symbol not in info.data["markets"]:
                raise ValueError(f"{symbol} is not one of the markets")
            out[symbol] = str(amount)
        return out

    @field_validator("size_notional")
    @classmethod
    def _notional(cls, value: str) -> str:
        try:
            if parse_decimal(value, "size_notional").is_zero():
                raise ValueError("must be greater than zero")
        except MoneyError as error:
            raise ValueError(str(error)) from None
        return value


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
