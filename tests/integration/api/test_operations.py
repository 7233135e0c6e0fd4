"""Health, readiness, metrics, rate limits, body limits, CORS and the OpenAPI document."""

from __future__ import annotations

from tests.integration.api.conftest import Stack, Trader


def test_health_and_readiness(stack: Stack) -> None:
    with stack.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"ready": True, "redis": True, "postgres": True}


def test_metrics_label_routes_by_template(stack: Stack, traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    a.http.get("/api/v1/order/123456789")
    with stack.client() as http:
        metrics = http.get("/metrics").text
    assert (
        'cryptex_api_request_seconds_count{method="GET",route="/api/v1/order/{order_id}",'
        'status="404"}' in metrics
    )
    assert "123456789" not in metrics


def test_too_many_orders_get_429_with_retry_after(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    statuses = []
    for _ in range(80):  # the test stack allows 25 a second with a burst of 50
        answer = a.http.post(
            "/api/v1/order",
            json={"side": "buy", "price": "1", "quantity": "0", "market": "SOL_USDC"},
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert answer.json()["code"] == -1003
            assert int(answer.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {400}


def test_cors_answers_configured_origins_only(stack: Stack) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    with stack.client() as http:
        allowed = http.options(
            "/api/v1/order", headers={**preflight, "Origin": "https://app.example"}
        )
        other = http.options(
            "/api/v1/order", headers={**preflight, "Origin": "https://evil.example"}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_the_openapi_document_is_complete(stack: Stack) -> None:
    with stack.client() as http:
        document = http.get("/openapi.json").json()
    paths = set(document["paths"])
    assert {
        "/api/v1/signup", "/api/v1/signin", "/api/v1/order", "/api/v1/order/{order_id}",
        "/api/v1/order/quote", "/api/v1/orders/open", "/api/v1/orders", "/api/v1/balances",
        "/api/v1/myTrades", "/api/v1/markets", "/api/v1/depth", "/api/v1/trades",
        "/api/v1/klines", "/api/v1/tickers",
        "/api/v1/admin/deposits", "/api/v1/admin/withdrawals",
    } <= paths  # fmt: skip
    order = document["components"]["schemas"]["OrderRequest"]
    assert order["examples"][0]["market"] == "sol/usdc"
