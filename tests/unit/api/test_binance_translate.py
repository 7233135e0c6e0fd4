"""The Binance facade's pure parts: the signed payload, the timestamp window, quoteOrderQty in
lots, exchangeInfo's filters, and the wording of refusals."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import yaml

from cryptex.markets import MarketSpec
from cryptex.signing import SigningCode, SigningError, check_timestamp
from cryptex_api.binance import translate
from cryptex_api.binance.auth import form_pairs, without_signature
from cryptex_api.binance.limits import RequestWeights
from cryptex_api.errors import ApiError, Code

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"
SOL = MarketSpec.from_manifest(yaml.safe_load((EXAMPLES / "sol-usdc.yaml").read_text()))
NOW = 1_800_000_000_000


def test_the_signed_payload_is_the_query_and_body_without_the_signature() -> None:
    assert without_signature("symbol=SOLUSDC&timestamp=1&signature=ab12") == (
        "symbol=SOLUSDC&timestamp=1", "ab12",
    )  # fmt: skip
    assert without_signature("signature=ab12&timestamp=1") == ("timestamp=1", "ab12")
    assert without_signature("symbol=SOLUSDC") == ("symbol=SOLUSDC", None)
    assert without_signature("") == ("", None)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, SigningCode.MANDATORY_PARAMETER),
        ({"timestamp": "x"}, SigningCode.ILLEGAL_PARAMETER),
        ({"timestamp": str(NOW - 5_001)}, SigningCode.TIMESTAMP_OUTSIDE_WINDOW),
        ({"timestamp": str(NOW + 1_001)}, SigningCode.TIMESTAMP_OUTSIDE_WINDOW),
        ({"timestamp": str(NOW), "recvWindow": "60001"}, SigningCode.BAD_RECV_WINDOW),
        ({"timestamp": str(NOW), "recvWindow": "0"}, SigningCode.BAD_RECV_WINDOW),
        (
            {"timestamp": str(NOW - 9_000), "recvWindow": "8000"},
            SigningCode.TIMESTAMP_OUTSIDE_WINDOW,
        ),
    ],
)
def test_a_timestamp_outside_its_window_is_refused(
    params: dict[str, str], code: SigningCode
) -> None:
    with pytest.raises(SigningError) as refused:
        check_timestamp(params, NOW)
    assert refused.value.code == code


def test_a_timestamp_inside_its_window_gives_the_window() -> None:
    assert check_timestamp({"timestamp": str(NOW - 5_000)}, NOW) == 5_000
    assert check_timestamp({"timestamp": str(NOW + 1_000)}, NOW) == 5_000
    assert check_timestamp({"timestamp": str(NOW - 59_000), "recvWindow": "60000"}, NOW) == 60_000


def test_the_signed_parameters_read_as_parse_qsl_reads_them() -> None:
    for text in ("symbol=SOLUSDC&side=BUY", "a=1&b=&c&&d=x%20y+z&e=%3D=", "x=1=2", ""):
        assert list(form_pairs(text)) == parse_qsl(text, keep_blank_values=True), text


def test_quote_order_qty_is_the_native_quote_budget() -> None:
    params = {"symbol": "SOLUSDC", "side": "BUY", "type": "MARKET", "quoteOrderQty": "100"}
    order = translate.order_request(params, SOL)
    assert (order.type, order.quantity, order.quote_order_qty, order.market) == (
        "MARKET", None, "100", "SOL_USDC",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "MARKET"}, Code.MANDATORY_PARAMETER),  # neither quantity nor quoteOrderQty
        ({"type": "MARKET", "quantity": "1", "quoteOrderQty": "100"}, Code.ILLEGAL_PARAMETER),
        (
            {"type": "LIMIT", "timeInForce": "GTC", "price": "150", "quoteOrderQty": "100"},
            Code.ILLEGAL_PARAMETER,
        ),
    ],
)
def test_an_order_needs_one_amount(params: dict[str, str], code: Code) -> None:
    with pytest.raises(ApiError) as refused:
        translate.order_request({"side": "BUY", **params}, SOL)
    assert refused.value.code == code


def test_exchange_info_states_the_market_filters() -> None:
    info = translate.exchange_symbol(SOL)
    assert (info["symbol"], info["baseAsset"], info["quoteAsset"]) == ("SOLUSDC", "SOL", "USDC")
    assert info["filters"] == [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "0", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": "0.010", "maxQty": "100000.000",
         "stepSize": "0.001"},
        {"filterType": "NOTIONAL", "minNotional": "5.000000", "applyMinToMarket": True,
         "maxNotional": "0", "applyMaxToMarket": False, "avgPriceMins": 0},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ]  # fmt: skip
    assert (info["pricePrecision"], info["quantityPrecision"]) == (2, 3)


def test_refusals_are_worded_as_binance_words_them() -> None:
    funds = translate.error(ApiError(400, Code.ORDER_REJECTED, "insufficient USDC", None,
                                     "INSUFFICIENT_FUNDS"))  # fmt: skip
    assert (funds.code, funds.msg) == (
        Code.ORDER_REJECTED, "Account has insufficient balance for requested action.",
    )  # fmt: skip
    lot = translate.error(ApiError(400, Code.FILTER_FAILURE, "off lot", None, "LOT_SIZE"))
    assert (lot.code, lot.msg) == (Code.FILTER_FAILURE, "Filter failure: LOT_SIZE")
    limit = translate.error(ApiError(400, Code.TOO_MANY_OPEN_ORDERS, "x", None, "MAX_NUM_ORDERS"))
    assert (limit.code, limit.msg) == (Code.ORDER_REJECTED, "Filter failure: MAX_NUM_ORDERS")
    plain = ApiError(404, Code.NOT_FOUND, "not found")
    assert translate.error(plain) is plain


def test_request_weight_is_counted_per_client_and_refused_past_the_limit() -> None:
    now = [NOW / 1000 + 15]  # 15 s into a minute
    weights = RequestWeights(10, lambda: now[0])
    assert [weights.spend("10.0.0.1", 4), weights.spend("10.0.0.1", 4)] == [4, 8]
    assert weights.spend("10.0.0.2", 4) == 4  # each address has its own minute
    with pytest.raises(ApiError) as refused:
        weights.spend("10.0.0.1", 4)
    assert (refused.value.status, refused.value.code) == (429, Code.TOO_MANY_REQUESTS)
    assert refused.value.headers is not None
    assert refused.value.headers == {"Retry-After": "45"}  # the next minute
    assert weights.spend("10.0.0.1", 2) == 10  # a refused request spends nothing
    now[0] += 45
    assert weights.spend("10.0.0.1", 4) == 4  # a new minute


def test_binance_stop_orders_become_native_stop_requests() -> None:
    params = {"side": "SELL", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC",
              "price": "139", "stopPrice": "140", "quantity": "1.5"}  # fmt: skip
    request = translate.order_request(params, SOL)
    assert (request.type, str(request.price), str(request.stop_price)) == (
        "STOP_LOSS_LIMIT", "139", "140",
    )  # fmt: skip
    market_stop = translate.order_request(
        {"side": "BUY", "type": "TAKE_PROFIT", "stopPrice": "120", "quantity": "1"}, SOL
    )
    assert (market_stop.type, market_stop.price) == ("TAKE_PROFIT", None)
    with pytest.raises(ApiError, match="'stopPrice' was not sent"):
        translate.order_request({"side": "BUY", "type": "STOP_LOSS", "quantity": "1"}, SOL)
    with pytest.raises(ApiError, match="'timeInForce' was not sent"):
        translate.order_request(
            {"side": "BUY", "type": "TAKE_PROFIT_LIMIT", "price": "1", "stopPrice": "2",
             "quantity": "1"}, SOL,
        )  # fmt: skip


def test_exchange_info_lists_the_order_types_the_market_takes() -> None:
    assert "STOP_LOSS_LIMIT" in translate.exchange_symbol(SOL)["orderTypes"]
    manifest = yaml.safe_load((EXAMPLES / "sol-usdc.yaml").read_text())
    manifest["spec"]["orderTypes"] = ["LIMIT", "TAKE_PROFIT"]
    limited = MarketSpec.from_manifest(manifest)
    assert translate.exchange_symbol(limited)["orderTypes"] == [
        "LIMIT",
        "LIMIT_MAKER",
        "TAKE_PROFIT",
    ]
