"""The API serves the web app's build same-origin: the page (with its config block and a strict
Content-Security-Policy) for `/`, `/trade/<symbol>` and other page paths, hashed assets cached
for a year and gzipped on request, and nothing else: API paths, files and other methods keep
their 404 and 405. A fake build in a temp dir; the app's lifespan (Redis, PostgreSQL) never
runs, as no route here needs it."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptex.settings import ApiSettings, ConfigError
from cryptex_api.app import create_app

PAGE = """<!doctype html><html><head><!--cryptex-config-->
<script type="module" src="/assets/app-ABC123.js"></script></head><body></body></html>"""
SCRIPT = b"console.log('cryptex');" * 50


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets" / "app-ABC123.js").write_bytes(SCRIPT)
    (tmp_path / "assets" / "app-ABC123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (tmp_path / "assets" / "app-ABC123.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not an asset")
    return tmp_path


def client(**settings: Any) -> httpx.AsyncClient:
    defaults: dict[str, Any] = {"database_url": "postgresql://nobody@127.0.0.1:1/none",
                                "dev_mode": True}  # fmt: skip
    app = create_app(ApiSettings(**{**defaults, **settings}))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def web(build: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client(web_dir=build, web_ws_url="ws://127.0.0.1:8001/", faucet=True) as http:
        yield http


def config_of(html: str) -> Any:
    match = re.search(r'<script id="cryptex-config" type="application/json">(.*?)</script>', html)
    assert match is not None, html
    return json.loads(match[1])


@pytest.mark.parametrize("path", ["/", "/trade/SOL_USDC", "/trade/sol-usdc", "/markets/new"])
async def test_pages_answer_the_app_with_its_config(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert config_of(response.text) == {
        "ws": "ws://127.0.0.1:8001/", "faucet": True, "marketOrderBandBps": 500,
    }  # fmt: skip
    assert '<script type="module" src="/assets/app-ABC123.js">' in response.text


async def test_the_page_may_reach_only_its_origin_and_the_websocket(web: httpx.AsyncClient) -> None:
    response = await web.get("/", headers={"host": "cryptex.local"})
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"].split() == [
        "'self'", "ws://cryptex.local", "wss://cryptex.local", "ws://127.0.0.1:8001",
    ]  # fmt: skip
    assert directives["frame-ancestors"] == "'none'"


async def test_head_answers_without_a_body(web: httpx.AsyncClient) -> None:
    response = await web.head("/trade/BTC_USDC")
    assert (response.status_code, response.content) == (200, b"")


async def test_assets_are_immutable_and_gzipped_for_who_accepts_it(web: httpx.AsyncClient) -> None:
    zipped = await web.get("/assets/app-ABC123.js", headers={"accept-encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == SCRIPT  # httpx decoded it
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped.headers["vary"] == "Accept-Encoding"
    plain = await web.get("/assets/app-ABC123.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == SCRIPT
    css = await web.get("/assets/app-ABC123.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing-1.js",
        "/assets/app-ABC123.js.gz",  # only through content negotiation
        "/assets/..%2Fsecret.txt",
        "/assets/%2E%2E%2Fsecret.txt",
        "/secret.txt",
        "/favicon.ico",
        "/api/v1/no-such-route",
        "/docs/nothing",
    ],
)
async def test_nothing_else_is_served(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == -1005
    assert "cryptex" not in response.text


async def test_api_routes_keep_their_405(web: httpx.AsyncClient) -> None:
    assert (await web.get("/api/v1/order")).status_code == 405
    assert (await web.post("/")).status_code == 405
    assert (await web.post("/somewhere")).status_code == 404


async def test_the_config_cannot_close_its_script_element(build: Path) -> None:
    async with client(web_dir=build, web_ws_url="ws://host/</script><script>alert(1)") as http:
        html = (await http.get("/")).text
    assert "</script><script>alert(1)" not in html
    assert config_of(html)["ws"] == "ws://host/</script><script>alert(1)"


async def test_a_rebuild_is_served_without_a_restart(web: httpx.AsyncClient, build: Path) -> None:
    assert "app-ABC123.js" in (await web.get("/")).text
    index = build / "index.html"
    index.write_text(PAGE.replace("ABC123", "DEF456"))
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert "app-DEF456.js" in (await web.get("/")).text


async def test_without_a_build_there_is_no_page() -> None:
    async with client() as http:
        assert (await http.get("/")).status_code == 404


def test_a_web_dir_without_a_build_stops_the_api(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CRYPTEX_WEB_DIR"):
        ApiSettings(database_url="postgresql://x@y/z", dev_mode=True, web_dir=tmp_path)
    with pytest.raises(ConfigError, match="CRYPTEX_WEB_WS_URL"):
        ApiSettings(database_url="postgresql://x@y/z", dev_mode=True, web_ws_url="http://x/")
