"""Two traders sign up, are funded by the admin, and trade with each other through REST; each
sees the trade, the depth and their own orders and balances over WebSocket; the ledger audit
passes."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.harness import StackRun, sign_up

MARKET = "SOL_USDC"  # this file's market: no other test here trades it
DEPTH, TRADES = f"depth@{MARKET}", f"trades@{MARKET}"


async def test_two_traders_trade_and_see_it_over_websocket(stack: StackRun) -> None:
    alice = await sign_up(stack, {"USDC": "10000"})
    bob = await sign_up(stack, {"SOL": "100"})
    public = await stack.ws_client()
    await public.subscribe(DEPTH, TRADES)
    alice_ws = await stack.ws_client(alice.token, alice.account)
    await alice_ws.subscribe("orders@me", "balances@me")
    bob_ws = await stack.ws_client(bob.token, bob.account)
    await bob_ws.subscribe("orders@me")
    await public.until(
        lambda: any(d["e"] == "depthSnapshot" for d in public.data("depth@SOL_USDC"))
    )
    try:
        bid = await alice.place("buy", "150.25", "2", "sol/usdc")
        assert (bid["status"], bid["executedQty"], bid["fills"]) == ("NEW", "0.000", [])
        await public.until(lambda: ["150.25", "2.000"] in _bids(public.data(DEPTH)), timeout=10)

        ask = await bob.place("sell", "150.20", "0.5", MARKET)  # crosses: fills at the bid's price
        assert ask["status"] == "FILLED", ask
        [fill] = ask["fills"]
        assert (fill["price"], fill["qty"]) == ("150.25", "0.500")
        trade_id = fill["tradeId"]

        await public.until(lambda: trade_id in [t["id"] for t in public.data(TRADES)])
        [trade] = [t for t in public.data(TRADES) if t["id"] == trade_id]
        assert trade["price"] == "150.25"
        assert trade["qty"] == "0.500"
        assert trade["quoteQty"] == "75.125000"
        assert trade["isBuyerMaker"] is True
        await public.until(lambda: ["150.25", "1.500"] in _bids(public.data(DEPTH)))

        def alice_update() -> list[object]:
            return [
                (u["status"], u["executedQty"])
                for u in alice_ws.data("orders@me")
                if u["orderId"] == bid["orderId"]
            ]

        await alice_ws.until(lambda: ("PARTIALLY_FILLED", "0.500") in alice_update())
        await bob_ws.until(
            lambda: any(
                u["orderId"] == ask["orderId"] and u["status"] == "FILLED"
                for u in bob_ws.data("orders@me")
            )
        )

        # Alice paid 0.5 x 150.25 and the maker fee (10 bps), Bob got it less the taker fee
        # (20 bps): exact decimals, as the ledger holds them.
        paid = Decimal("75.125") + Decimal("0.075125")
        assert await alice.totals() == {"SOL": Decimal("0.5"), "USDC": Decimal("10000") - paid}
        assert await bob.totals() == {
            "SOL": Decimal("99.5"), "USDC": Decimal("75.125") - Decimal("0.15025")
        }  # fmt: skip
        mine = await alice.get("/api/v1/trades", symbol=MARKET, limit=5)
        assert trade_id in [t["id"] for t in mine]
        open_orders = await alice.get("/api/v1/orders/open", market=MARKET)
        assert [(o["orderId"], o["executedQty"]) for o in open_orders] == [
            (bid["orderId"], "0.500")
        ]
        await alice_ws.until(
            lambda: any(
                {"asset": "SOL", "free": "0.50000000", "locked": "0.00000000"} in message
                for message in alice_ws.data("balances@me")
            )
        )
        stack.audit()
    finally:
        for client in (public, alice_ws, bob_ws):
            await client.close()
        for trader in (alice, bob):
            await trader.cancel_all()
            await trader.http.aclose()
    stack.audit()


def _bids(depth_messages: list[dict[str, object]]) -> list[object]:
    levels: list[object] = []
    for message in depth_messages:
        bids = message.get("bids")
        if isinstance(bids, list):
            levels += bids
    return levels
