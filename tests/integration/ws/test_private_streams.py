"""`orders@me` and `balances@me` carry the authenticated account's own data and nobody else's;
without AUTH (or once the token expires) they are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cryptex.money import fee_units
from cryptex.tokens import Principal, Tokens
from cryptex.wire import Side, TradeExecuted
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.ws.harness import JWT_SECRET, Client, WsProcess

ORDERS, BALANCES = "orders@me", "balances@me"


async def authenticated(
    open_client: Callable[[], Awaitable[Client]], token: str, account: int
) -> Client:
    client = await open_client()
    assert (await client.request("AUTH", [token]))["result"] == {"accountId": account}
    await client.subscribe(ORDERS, BALANCES)
    return client


async def test_each_account_sees_only_its_own_orders_and_balances(
    engine: EngineProcess,
    exchange: Exchange,
    ws: WsProcess,
    open_client: Callable[[], Awaitable[Client]],
    token_for: Callable[[int], str],
) -> None:
    for account in (1, 2, 3):
        exchange.fund(account, "USDC", "10000")
        exchange.fund(account, "SOL", "100")
    alice = await authenticated(open_client, token_for(1), 1)
    alice_again = await authenticated(open_client, token_for(1), 1)  # a second connection
    bob = await authenticated(open_client, token_for(2), 2)
    anonymous = await open_client()
    await anonymous.subscribe("trades@SOL_USDC")

    owners: dict[int, int] = {}

    def place(account: int, side: Side, price: str, qty: str) -> None:
        owners[exchange.placed(account, side, price, qty)] = account

    def flow() -> None:
        for _ in range(10):  # a burst for each: balances are debounced
            place(1, Side.SELL, "150.00", "0.1")
            place(3, Side.SELL, "150.00", "0.1")
        place(2, Side.BUY, "150.00", "1.5")  # takes from alice and from account 3
        place(3, Side.BUY, "149.00", "0.2")
        exchange.wait_settled()

    await asyncio.to_thread(flow)
    traded: dict[int, set[int]] = {}  # account -> its orders that traded
    for event in exchange.events():
        if isinstance(event, TradeExecuted):
            traded.setdefault(event.maker_account, set()).add(event.maker_order_id)
            traded.setdefault(event.taker_account, set()).add(event.taker_order_id)
    assert traded[1]
    assert traded[2]
    assert traded[3]
    for client, account in ((alice, 1), (alice_again, 1), (bob, 2)):
        expected = exchange.ledger.balances(account)
        spec = {"SOL": exchange.market.base, "USDC": exchange.market.quote}
        final = [
            {"asset": asset, "free": spec[asset].format(b.available),
             "locked": spec[asset].format(b.locked)}
            for asset, b in sorted(expected.items())
        ]  # fmt: skip
        await client.until(lambda c=client, f=final: c.data(BALANCES)[-1:] == [f])
        # The engine publishes an update when an order is accepted (NEW), trades or closes.
        mine = {order for order, owner in owners.items() if owner == account}
        await client.until(lambda c=client, m=mine: {u["orderId"] for u in c.data(ORDERS)} == m)
        traded_ids = {u["orderId"] for u in client.data(ORDERS) if u["status"] != "NEW"}
        assert traded_ids == traded[account]
        assert {owners[update["orderId"]] for update in client.data(ORDERS)} == {account}
        # A burst of updates, few balances messages (one on subscribe, then debounced).
        assert len(client.data(BALANCES)) < len(client.data(ORDERS)) / 2
    assert alice.data(ORDERS) == alice_again.data(ORDERS)
    accepted = [u for u in alice.data(ORDERS) if u["status"] == "NEW"]
    assert len(accepted) == 10
    assert accepted[0] == {
        "orderId": min(owners), "market": "SOL_USDC", "status": "NEW", "executedQty": "0.000",
        "cumulativeQuoteQty": "0.000000", "updated": accepted[0]["updated"], "side": "SELL",
    }  # fmt: skip
    alice_updates = [u for u in alice.data(ORDERS) if u["status"] != "NEW"]
    first = next(
        event for event in exchange.events()
        if isinstance(event, TradeExecuted) and event.maker_order_id == min(traded[1])
    )  # fmt: skip
    market = exchange.market
    maker_fee = fee_units(market.notional(first.price, first.quantity), market.maker_fee_bps)
    assert alice_updates[0] == {
        "orderId": min(traded[1]), "market": "SOL_USDC", "status": "PARTIALLY_FILLED",
        "executedQty": "0.100", "cumulativeQuoteQty": "15.000000",
        "updated": alice_updates[0]["updated"], "side": "SELL", "tradeId": first.trade_id,
        "lastPrice": "150.00", "lastQty": "0.100", "fee": market.quote.format(maker_fee),
        "feeAsset": "USDC", "maker": True,
    }  # fmt: skip
    assert maker_fee > 0
    assert [u["status"] for u in alice_updates] == ["PARTIALLY_FILLED", "FILLED"] * len(traded[1])
    assert not any(m["stream"] in (ORDERS, BALANCES) for m in anonymous.messages)
    assert anonymous.data("trades@SOL_USDC")


async def test_private_streams_need_a_valid_token_of_one_account(
    ws: WsProcess,
    open_client: Callable[[], Awaitable[Client]],
    token_for: Callable[[int], str],
) -> None:
    client = await open_client()
    refused = await client.request("SUBSCRIBE", [BALANCES])
    assert refused["error"] == {"code": -1002, "msg": "balances@me needs AUTH first"}
    forged = Tokens("some other secret that is long enough!!", 60).issue(Principal(1, "trader"))
    assert (await client.request("AUTH", [forged]))["error"]["code"] == -1002
    assert (await client.request("AUTH", [token_for(1)]))["result"] == {"accountId": 1}
    other = await client.request("AUTH", [token_for(2)])
    assert other["error"]["code"] == -1002
    assert "another account" in other["error"]["msg"]
    assert (await client.request("AUTH", [token_for(1)]))["result"] == {"accountId": 1}


async def test_private_streams_end_when_the_token_expires(
    ws: WsProcess, open_client: Callable[[], Awaitable[Client]]
) -> None:
    client = await open_client()
    short = Tokens(JWT_SECRET, 1).issue(Principal(4, "trader"))
    assert (await client.request("AUTH", [short]))["result"] == {"accountId": 4}
    await client.subscribe(ORDERS, "ticker@SOL_USDC")
    await client.until(lambda: client.unsolicited, timeout=5)
    [expired] = client.unsolicited
    assert expired["error"]["code"] == -1002
    assert "expired" in expired["error"]["msg"]
    assert (await client.request("LIST_SUBSCRIPTIONS"))["result"] == ["ticker@SOL_USDC"]
    assert (await client.request("SUBSCRIBE", [ORDERS]))["error"]["code"] == -1002
