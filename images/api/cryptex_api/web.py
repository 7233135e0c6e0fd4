"""The trading web app, same origin as the API (so it needs no CORS): the static build of
`web/` (`make web`), from `CRYPTEX_WEB_DIR`.

- `/`, `/trade/{symbol}` and any other page path (the history fallback: the app routes itself)
  answer index.html, never cached, with the page's config (where the WebSocket API is, whether
  the faucet is on, the market-order band) in a JSON block, and a Content-Security-Policy that
  lets the page load and connect only to this origin and that WebSocket.
- `/assets/<hashed name>` answers the file, cached for a year (its name changes with its
  content), gzipped when the browser accepts it.

It never serves a file outside its directory, and never answers an API path (`/api/...`), a
missing file or a method other than GET and HEAD with the page: those keep their 404 or 405."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from cryptex.settings import ApiSettings
from cryptex_api.errors import ApiError, Code

CONFIG_MARK: Final = "<!--cryptex-config-->"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
# Paths that belong to the API, never to the app.
_NOT_PAGES: Final = (
    "/api/", "/assets/", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz", "/readyz",
)  # fmt: skip


class WebApp:
    """The build in `directory`: index.html (read again when it changes on disk, so a rebuild
    needs no restart) and its assets."""

    def __init__(self, directory: Path, settings: ApiSettings) -> None:
        self.directory = directory.resolve()
        self.assets = self.directory / "assets"
        config = {
            "ws": settings.web_ws_url,
            "faucet": settings.faucet,
            "marketOrderBandBps": settings.market_order_band_bps,
        }
        # `<` escaped: the JSON cannot close its script element.
        self._config_block = (
            '<script id="cryptex-config" type="application/json">'
            + json.dumps(config).replace("<", "\\u003c")
            + "</script>"
        )
        self._ws_origin = _origin(settings.web_ws_url)
        self._index: tuple[float, bytes] | None = None

    def _page(self) -> bytes:
        path = self.directory / "index.html"
        mtime = path.stat().st_mtime
        if self._index is None or self._index[0] != mtime:
            html = path.read_text(encoding="utf-8").replace(CONFIG_MARK, self._config_block, 1)
            self._index = (mtime, html.encode())
        return self._index[1]

    def page(self, request: Request) -> Response:
        host = request.headers.get("host", "")
        connect = ["'self'", f"ws://{host}", f"wss://{host}"] if host else ["'self'"]
        if self._ws_origin:
            connect.append(self._ws_origin)
        policy = "; ".join([
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # the chart sets element styles
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",  # no trading page inside someone else's frame
        ])  # fmt: skip
        headers = {
            "Cache-Control": "no-cache",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        body = b"" if request.method == "HEAD" else self._page()
        return HTMLResponse(body, headers=headers)

    def asset(self, name: str, request: Request) -> Response | None:
        if not _ASSET_NAME.fullmatch(name) or name.endswith(".gz"):
            return None
        path = self.assets / name
        if path.parent != self.assets or not path.is_file():
            return None
        media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
        zipped = path.with_name(name + ".gz")
        if zipped.is_file():
            headers["Vary"] = "Accept-Encoding"
            if "gzip" in request.headers.get("accept-encoding", ""):
                headers["Content-Encoding"] = "gzip"
                return FileResponse(zipped, media_type=media_type, headers=headers)
        return FileResponse(path, media_type=media_type, headers=headers)


def _origin(url: str) -> str:
    match = re.match(r"(wss?://[^/?#]+)", url)
    return match[1] if match else ""


def is_page_path(path: str) -> bool:
    """A path the app may route itself: not the API's, and not a file name (`/x.png`)."""
    if any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in _NOT_PAGES):
        return False
    return "." not in path.rsplit("/", 1)[-1]


class _HistoryFallback:
    """The router's answer for a path no route matches: the page for a GET or HEAD of a page
    path, else what the router answered before (404)."""

    def __init__(self, web: WebApp, default: ASGIApp) -> None:
        self.web = web
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and is_page_path(scope["path"])
        ):
            response = self.web.page(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.default(scope, receive, send)


def mount(app: FastAPI, settings: ApiSettings) -> None:
    """Serve the web app from `settings.web_dir`, if set (after every API route)."""
    if settings.web_dir is None:
        return
    web = WebApp(settings.web_dir, settings)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def index(request: Request) -> Response:
        return web.page(request)

    @router.api_route("/trade/{symbol}", methods=["GET", "HEAD"])
    async def trade(symbol: str, request: Request) -> Response:
        return web.page(request)

    @router.api_route("/assets/{name}", methods=["GET", "HEAD"])
    async def asset(name: str, request: Request) -> Response:
        found = web.asset(name, request)
        if found is None:
            raise ApiError(404, Code.NOT_FOUND, f"no asset {name}")
        return found

    app.include_router(router)
    app.router.default = _HistoryFallback(web, app.router.default)
