"""The trading web app in a real browser: Debian's chromium-headless-shell driven by Playwright
(its sync API; `playwright install` is never needed), against a stack of the e2e fixtures with
the market maker, started by `hack/stack/stack.py` like the other e2e tests.

Every page a test opens is watched: a console error or uncaught exception, a request to another
origin than the API's (the page's own) or a WebSocket to another place than the stack's fails
the test at teardown. Each test leaves a screenshot of each page it opened in ARTIFACTS."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.e2e.harness import ROOT, StackRun

WEB_BUILD = ROOT / "web" / "dist" / "index.html"
# Screenshots of every page a test opened (build/ is git-ignored; CI keeps it).
ARTIFACTS = (
    Path(os.environ.get("CRYPTEX_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts")) / "web"
)
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 740}
# A stack on a busy CI machine answers in less, but not always in Playwright's default 5 s.
expect.set_options(timeout=15_000)
# Servers a test started in the stack's place (registered in its pids file, so the stack stops
# them): reaped once the stack is down.
SPAWNED: list[subprocess.Popen[bytes]] = []


def chromium() -> str | None:
    """Debian's headless shell (or a Chromium named by CRYPTEX_CHROMIUM)."""
    named = os.environ.get("CRYPTEX_CHROMIUM")
    if named:
        return named
    for candidate in ("chromium-headless-shell", "chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if chromium() is None:
        skip = pytest.mark.skip(reason="no chromium-headless-shell: `make debs` installs it")
        for item in items:
            if "tests/e2e/web" in str(item.path):
                item.add_marker(skip)


# Package scope: Playwright's sync API keeps an event loop running on the main thread while it
# lives, and every later test that calls asyncio.run() would fail ("cannot be called from a
# running event loop"); the browser and its stack end with this package's last test.
@pytest.fixture(scope="package")
def web_stack() -> Iterator[StackRun]:
    if not WEB_BUILD.exists():
        pytest.fail(f"{WEB_BUILD} is missing: build the web app first (make web)")
    run = StackRun()  # with the market maker: its quotes fill the books
    try:
        run.up()
        assert run.state["web"], "the stack serves no web app"
        yield run
    finally:
        run.remove()
        for process in SPAWNED:
            if process.poll() is None:  # `down` stops them; never leave one behind
                process.kill()
            process.wait()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = chromium()
    assert path is not None
    browser = playwright.chromium.launch(executable_path=path)
    yield browser
    browser.close()


@dataclass
class Watch:
    """What a page did that a test would not want: errors, and requests leaving the stack."""

    origin: str
    ws_url: str
    problems: list[str] = field(default_factory=list)
    # Console errors a test expects (the browser logs a refused request, a dropped socket).
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        if any(pattern.search(message.text) for pattern in self.allowed):
            return
        self.problems.append(f"console {message.type}: {message.text}")

    def request(self, url: str) -> None:
        if not url.startswith(self.origin + "/"):
            self.problems.append(f"request to another origin: {url}")

    def websocket(self, url: str) -> None:
        if url.rstrip("/") != self.ws_url.rstrip("/"):
            self.problems.append(f"WebSocket to another place: {url}")

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))


class Pages:
    """Opens pages (desktop or phone size) that are watched and photographed."""

    def __init__(self, browser: Browser, stack: StackRun, name: str) -> None:
        self.browser = browser
        self.stack = stack
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        origin = stack.api.rstrip("/")
        self.watch = Watch(origin=origin, ws_url=stack.ws)
        self.opened: list[tuple[str, Page]] = []

    def open(
        self, path: str = "/", *, phone: bool = False, label: str = "", init_script: str = ""
    ) -> Page:
        context = self.browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            base_url=self.stack.api,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("console", self.watch.console)
        page.on("pageerror", lambda error: self.watch.problems.append(f"page error: {error}"))
        page.on("request", lambda request: self.watch.request(request.url))
        page.on("websocket", lambda socket: self.watch.websocket(socket.url))
        if init_script:
            page.add_init_script(init_script)
        page.goto(path)
        self.opened.append((label or ("phone" if phone else "desktop"), page))
        return page

    def snapshot(self, page: Page, label: str) -> Path:
        """A screenshot kept now, under this test's name."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{self.name}-{label}.png"
        page.screenshot(path=str(target))
        return target

    def photograph(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, (label, page) in enumerate(self.opened):
            suffix = f"-{index}" if len(self.opened) > 1 else ""
            target = ARTIFACTS / f"{self.name}-{label}{suffix}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
            except Exception as error:  # a closed page: nothing to keep
                self.watch.problems.append(f"screenshot failed: {error}")

    def close(self) -> None:
        for _, page in self.opened:
            page.context.close()


@pytest.fixture
def pages(browser: Browser, web_stack: StackRun, request: pytest.FixtureRequest) -> Iterator[Pages]:
    opened = Pages(browser, web_stack, request.node.name)
    try:
        yield opened
        opened.photograph()
        assert opened.watch.problems == [], "\n".join(opened.watch.problems)
    finally:
        opened.close()
