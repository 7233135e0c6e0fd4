"""A resting order cancelled through REST: its lock goes back to available, the book loses its
level (a zero quantity over WebSocket), the owner sees CANCELED on `orders@me`."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.harness import StackRun, sign_up

MARKET = "ETH_USDC"  # shared with test_candles_and_history.py, at other prices


async def test_cancel_releases_the_lock_and_the_level(stack: StackRun) -> None:
    carol = await sign_up(stack, {"USDC": "5000"})
    public = await stack.ws_client()
    await public.subscribe(f"depth@{MARKET}")
    own = await stack.ws_client(carol.token, carol.account)
    await own.subscribe("orders@me")
    try:
        order = await carol.place("buy", "1000.00", "1.5", MARKET)
        assert order["status"] == "NEW"
        free, locked = (await carol.balances())["USDC"]
        # 1,500 USDC of notional plus a reserve for the larger fee (20 bps): 1,503 locked.
        assert (free, locked) == (Decimal("3497"), Decimal("1503"))
        await public.until(lambda: ["1000.00", "1.5000"] in _levels(public.data(f"depth@{MARKET}")))

        cancelled = await carol.cancel(order["orderId"])
        assert cancelled["orderId"] == order["orderId"]
        await own.until(
            lambda: any(
                u["orderId"] == order["orderId"] and u["status"] == "CANCELED"
                for u in own.data("orders@me")
            )
        )
        await public.until(lambda: ["1000.00", "0.0000"] in _levels(public.data(f"depth@{MARKET}")))
        assert await carol.balances() == {"USDC": (Decimal("5000"), Decimal("0"))}
        assert await carol.get("/api/v1/orders/open", market=MARKET) == []
        state = await carol.get(f"/api/v1/order/{order['orderId']}")
        assert (state["status"], state["executedQty"]) == ("CANCELED", "0.0000")
        again = await carol.http.delete(f"/api/v1/order/{order['orderId']}")
        assert again.status_code == 400
        assert again.json()["code"] == -2011
        stack.audit()
    finally:
        await public.close()
        await own.close()
        await carol.cancel_all()
        await carol.http.aclose()


def _levels(depth_messages: list[dict[str, object]]) -> list[object]:
    levels: list[object] = []
    for message in depth_messages:
        for side in ("bids", "asks"):
            found = message.get(side)
            if isinstance(found, list):
                levels += found
    return levels
