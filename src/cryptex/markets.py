"""Market rules: assets, tick and lot sizes, order filters, fees, and symbols.

A `MarketSpec` is built from the same `Market` manifest the operator reads, and refuses any market
on which some notional or fill would not be exact in asset units (DESIGN.md, Money):

    tickSize * lotSize * 10^quoteDecimals  and  lotSize * 10^baseDecimals  are integers.

All conversions between a user's decimal strings and the engine's ticks and lots go through
here, so that every rule about a market is written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from cryptex.money import (
    MAX_DECIMALS,
    MAX_UNITS,
    ExactDecimal,
    MoneyError,
    fee_units,
    format_steps,
    format_units,
    parse_decimal,
    to_steps,
    to_units,
)
from cryptex.wire import OrderType, TradingState

API_VERSION: Final = "cryptex.io/v1alpha1"
KIND: Final = "Market"
MAX_FEE_BPS: Final = 1_000  # 10 %: anything above is a typo in a manifest
# Open orders one account may have in one market, unless the Market says otherwise (Binance's
# MAX_NUM_ORDERS is 200 too): without a bound, one funded account could fill an engine's memory
# and its snapshots.
DEFAULT_MAX_OPEN_ORDERS: Final = 200
MAX_MAX_OPEN_ORDERS: Final = 100_000

# Order types a market takes unless its spec lists fewer (`orderTypes`).
ALL_ORDER_TYPES: Final = tuple(OrderType)

_ASSET_SYMBOL = re.compile(r"[A-Z][A-Z0-9]{1,9}")
_SYMBOL_INPUT = re.compile(r"([A-Za-z][A-Za-z0-9]{1,9})[_/\-]([A-Za-z][A-Za-z0-9]{1,9})")


class MarketError(ValueError):
    """A market definition, symbol or order that breaks a market rule."""


class FilterError(MarketError):
    """An order outside one of the market's filters, named as Binance names them
    (`LOT_SIZE`, `NOTIONAL`)."""

    def __init__(self, filter_name: str, message: str) -> None:
        super().__init__(message)
        self.filter = filter_name


def canonical_symbol(text: str) -> str:
    """`sol/usdc`, `SOL-USDC` and `SOL_USDC` all name the market `SOL_USDC`."""
    match = _SYMBOL_INPUT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise MarketError(f"{text!r} is not a market symbol like SOL_USDC, sol/usdc or SOL-USDC")
    return f"{match[1].upper()}_{match[2].upper()}"


@dataclass(frozen=True, slots=True)
class AssetSpec:
    symbol: str
    decimals: int  # a balance counts units of 10^-decimals

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not _ASSET_SYMBOL.fullmatch(self.symbol):
            raise MarketError(f"asset symbol {self.symbol!r} must be 2-10 capitals and digits")
        if type(self.decimals) is not int or not 0 <= self.decimals <= MAX_DECIMALS:
            raise MarketError(
                f"asset {self.symbol} decimals {self.decimals!r} must be an integer "
                f"from 0 to {MAX_DECIMALS}"
            )

    def to_units(self, amount: object, field: str = "amount") -> int:
        return to_units(amount, self.decimals, field)

    def format(self, units: int) -> str:
        return format_units(units, self.decimals)


@dataclass(frozen=True, slots=True)
class MarketSpec:
    base: AssetSpec
    quote: AssetSpec
    tick_size: ExactDecimal  # quote per base
    lot_size: ExactDecimal  # base
    min_qty: int  # lots
    max_qty: int  # lots
    min_notional: int  # quote units
    maker_fee_bps: int
    taker_fee_bps: int
    trading_state: TradingState = TradingState.ACTIVE
    max_open_orders: int = DEFAULT_MAX_OPEN_ORDERS  # per account, in this market
    order_types: tuple[OrderType, ...] = ALL_ORDER_TYPES  # those it takes, in OrderType order
    symbol: str = field(init=False)
    # The exact sizes every integer of the engine stands for, in asset units.
    base_units_per_lot: int = field(init=False)
    quote_units_per_tick_lot: int = field(init=False)

    def __post_init__(self) -> None:
        if self.base.symbol == self.quote.symbol:
            raise MarketError(f"base and quote must differ, both are {self.base.symbol}")
        set_ = object.__setattr__
        set_(self, "symbol", f"{self.base.symbol}_{self.quote.symbol}")
        if self.tick_size.is_zero() or self.lot_size.is_zero():
            raise MarketError(f"{self.symbol}: tickSize and lotSize must be greater than zero")
        per_lot, off_lot = self.lot_size.scaled(self.base.decimals)
        if off_lot:
            raise MarketError(
                f"{self.symbol}: lotSize {self.lot_size} is finer than {self.base.symbol}'s "
                f"{self.base.decimals} decimals"
            )
        tick_lot = ExactDecimal(
            self.tick_size.digits * self.lot_size.digits, self.tick_size.scale + self.lot_size.scale
        )
        per_tick_lot, off_tick_lot = tick_lot.scaled(self.quote.decimals)
        if off_tick_lot:
            raise MarketError(
                f"{self.symbol}: tickSize {self.tick_size} x lotSize {self.lot_size} is finer "
                f"than {self.quote.symbol}'s {self.quote.decimals} decimals, so a notional "
                "would not be exact"
            )
        set_(self, "base_units_per_lot", per_lot)
        set_(self, "quote_units_per_tick_lot", per_tick_lot)
        if not 0 < self.min_qty <= self.max_qty:
            raise MarketError(f"{self.symbol}: need 0 < minQty <= maxQty")
        if self.max_qty * per_lot > MAX_UNITS:
            raise MarketError(f"{self.symbol}: maxQty is beyond exact integer range")
        for name, bps in (("makerFeeBps", self.maker_fee_bps), ("takerFeeBps", self.taker_fee_bps)):
            if type(bps) is not int or not 0 <= bps <= MAX_FEE_BPS:
                raise MarketError(f"{self.symbol}: {name} {bps!r} must be 0..{MAX_FEE_BPS}")
        limit = self.max_open_orders
        if type(limit) is not int or not 1 <= limit <= MAX_MAX_OPEN_ORDERS:
            raise MarketError(
                f"{self.symbol}: maxOpenOrders {limit!r} must be 1..{MAX_MAX_OPEN_ORDERS}"
            )
        if not self.order_types:
            raise MarketError(f"{self.symbol}: orderTypes must list at least one order type")

    def allows(self, order_type: OrderType) -> bool:
        return order_type in self.order_types

    # ---------------------------------------------------------------- edges: strings <-> ints

    def price_to_ticks(self, price: object, field: str = "price") -> int:
        return to_steps(price, self.tick_size, field)

    def quantity_to_lots(self, quantity: object, field: str = "quantity") -> int:
        return to_steps(quantity, self.lot_size, field)

    def format_price(self, ticks: int) -> str:
        return format_steps(ticks, self.tick_size)

    def format_quantity(self, lots: int) -> str:
        return format_steps(lots, self.lot_size)

    # ---------------------------------------------------------------- exact amounts

    def notional(self, ticks: int, lots: int) -> int:
        """Quote units paid for `lots` at `ticks`."""
        return ticks * lots * self.quote_units_per_tick_lot

    def base_units(self, lots: int) -> int:
        return lots * self.base_units_per_lot

    def fee(self, notional: int, *, maker: bool) -> int:
        return fee_units(notional, self.maker_fee_bps if maker else self.taker_fee_bps)

    def buy_lock(self, ticks: int, lots: int, fee_bps: int | None = None) -> int:
        """Quote units a buy of `lots` at up to `ticks` must lock: the notional plus the most
        its fees can come to (at `fee_bps`, by default the larger of this market's rates).
        Fees are rounded up on each fill, so the reserve is rounded up per lot: a sum of
        per-fill fees never exceeds it, and the lock of n lots is n times that of one."""
        return self.notional(ticks, lots) + lots * self._fee_per_lot(ticks, fee_bps)

    def budget_buy_lock(self, budget: int, ticks: int, lots: int) -> int:
        """Quote units a market buy that spends at most `budget` tick-lots on at most `lots`
        lots at up to `ticks` must lock: what it can spend plus, as `buy_lock`, the most the
        fees on those lots can come to."""
        spend = min(budget * self.quote_units_per_tick_lot, self.notional(ticks, lots))
        return spend + lots * self._fee_per_lot(ticks)

    def _fee_per_lot(self, ticks: int, fee_bps: int | None = None) -> int:
        if fee_bps is None:
            fee_bps = max(self.maker_fee_bps, self.taker_fee_bps)
        return fee_units(self.notional(ticks, 1), fee_bps)

    def sell_lock(self, lots: int) -> int:
        """Base units a sell of `lots` must lock."""
        return self.base_units(lots)

    # ---------------------------------------------------------------- filters

    def check_order(self, ticks: int, lots: int, *, lock_ticks: int | None = None) -> None:
        """Refuse a quantity or notional outside this market's filters. The notional is judged
        at `ticks`: a limit order's price, or for a market order the best opposite price, what
        it can fill at (as Binance's applyMinToMarket judges one at its average price), never
        its protection price, which is only a bound. `lock_ticks` is the price its lock is
        computed at, when it is not `ticks` (a market order's protection price)."""
        if lots < self.min_qty:
            raise FilterError(
                "LOT_SIZE",
                f"quantity {self.format_quantity(lots)} is below the minimum "
                f"{self.format_quantity(self.min_qty)}",
            )
        if lots > self.max_qty:
            raise FilterError(
                "LOT_SIZE",
                f"quantity {self.format_quantity(lots)} is above the maximum "
                f"{self.format_quantity(self.max_qty)}",
            )
        notional = self.notional(ticks, lots)
        if notional < self.min_notional:
            raise FilterError(
                "NOTIONAL",
                f"notional {self.quote.format(notional)} {self.quote.symbol} is below the "
                f"minimum {self.quote.format(self.min_notional)}",
            )
        if self.buy_lock(ticks if lock_ticks is None else lock_ticks, lots) > MAX_UNITS:
            raise FilterError("NOTIONAL", "order notional is beyond exact integer range")

    # ---------------------------------------------------------------- manifests

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> MarketSpec:
        """Build from a `Market` resource (the YAML the operator reads), refusing bad ones."""
        if not isinstance(manifest, Mapping):
            raise MarketError("a Market manifest must be a mapping")
        if manifest.get("apiVersion") != API_VERSION or manifest.get("kind") != KIND:
            raise MarketError(
                f"expected apiVersion {API_VERSION} and kind {KIND}, got "
                f"{manifest.get('apiVersion')!r} and {manifest.get('kind')!r}"
            )
        spec = manifest.get("spec")
        if not isinstance(spec, Mapping):
            raise MarketError("a Market manifest needs a spec mapping")
        try:
            base = _asset(spec, "base")
            quote = _asset(spec, "quote")
            tick_size = parse_decimal(_required(spec, "tickSize"), "tickSize")
            lot_size = parse_decimal(_required(spec, "lotSize"), "lotSize")
            if tick_size.is_zero() or lot_size.is_zero():
                raise MarketError("tickSize and lotSize must be greater than zero")
            min_qty = to_steps(_required(spec, "minQty"), lot_size, "minQty")
            max_qty = to_steps(_required(spec, "maxQty"), lot_size, "maxQty")
            min_notional = to_units(
                _required(spec, "minNotional"), quote.decimals, "minNotional", allow_zero=True
            )
            state_name = spec.get("tradingState", TradingState.ACTIVE.value)
            try:
                state = TradingState(state_name)
            except ValueError:
                allowed = ", ".join(s.value for s in TradingState)
                raise MarketError(f"tradingState {state_name!r} is not one of {allowed}") from None
            market = cls(
                base=base,
                quote=quote,
                tick_size=tick_size,
                lot_size=lot_size,
                min_qty=min_qty,
                max_qty=max_qty,
                min_notional=min_notional,
                maker_fee_bps=_required(spec, "makerFeeBps"),
                taker_fee_bps=_required(spec, "takerFeeBps"),
                trading_state=state,
                max_open_orders=spec.get("maxOpenOrders", DEFAULT_MAX_OPEN_ORDERS),
                order_types=_order_types(spec.get("orderTypes")),
            )
        except MoneyError as error:
            raise MarketError(str(error)) from None
        metadata = manifest.get("metadata", {})
        if not isinstance(metadata, Mapping):
            raise MarketError("metadata must be a mapping")
        name = metadata.get("name")
        if name is not None and name != market.resource_name:
            raise MarketError(
                f"metadata.name {name!r} must be {market.resource_name!r} for {market.symbol}"
            )
        return market

    @property
    def resource_name(self) -> str:
        """The Kubernetes name of this market's resources: `sol-usdc`."""
        return self.symbol.lower().replace("_", "-")


def _required(spec: Mapping[str, Any], key: str) -> Any:
    if key not in spec:
        raise MarketError(f"spec.{key} is required")
    return spec[key]


def _order_types(names: object) -> tuple[OrderType, ...]:
    """`spec.orderTypes` (absent: every type), in OrderType order, refusing unknown names."""
    if names is None:
        return ALL_ORDER_TYPES
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise MarketError("spec.orderTypes must be a list of order type names")
    unknown = sorted(set(names) - {t.value for t in OrderType})
    if unknown:
        allowed = ", ".join(t.value for t in OrderType)
        raise MarketError(f"spec.orderTypes: {', '.join(unknown)} not one of {allowed}")
    return tuple(t for t in OrderType if t.value in names)


def _asset(spec: Mapping[str, Any], key: str) -> AssetSpec:
    asset = _required(spec, key)
    if not isinstance(asset, Mapping) or "symbol" not in asset or "decimals" not in asset:
        raise MarketError(f"spec.{key} needs symbol and decimals")
    return AssetSpec(asset["symbol"], asset["decimals"])


def load_manifest(path: Path) -> MarketSpec:
    """Load one `Market` from a YAML file."""
    with path.open(encoding="utf-8") as stream:
        return MarketSpec.from_manifest(yaml.safe_load(stream))


def load_manifests(directory: Path) -> dict[str, MarketSpec]:
    """Every `*.yaml` Market in a directory, by symbol, refusing assets whose decimals disagree."""
    markets: dict[str, MarketSpec] = {}
    assets: dict[str, AssetSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        market = load_manifest(path)
        if market.symbol in markets:
            raise MarketError(f"{path.name}: market {market.symbol} is defined twice")
        for asset in (market.base, market.quote):
            known = assets.setdefault(asset.symbol, asset)
            if known != asset:
                raise MarketError(
                    f"{path.name}: {asset.symbol} has {asset.decimals} decimals here but "
                    f"{known.decimals} in another market"
                )
        markets[market.symbol] = market
    return markets
