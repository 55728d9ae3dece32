"""End-to-end: the real server on a real socket, driven by Debian's Chromium through Playwright.

The server runs in a thread of the test process (uvicorn on a free port) over its own committed
database (a SQLite file or a fresh PostgreSQL database), so tests can seed it with the builders and
read the SMS codes the server "sends". Each journey saves a screenshot under ``var/screenshots/``.
Without Chromium the tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.ledger import points
from forecourt.members import sms
from tests.fixtures import databases

CHROMIUM = os.environ.get("FORECOURT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE_WIDTH = 375


@dataclass
class LiveServer:
    """The running product: its base URL, its app (SMS inbox, settings) and its database."""

    url: str
    app: FastAPI
    engine: Engine
    db_kind: str

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def last_sms_code(self, phone_e164: str) -> str:
        """The 6-digit code the server last texted to ``phone_e164`` (the SMS inbox provider)."""
        with self.session() as session:
            messages = sms.inbox(session, self.app.state.pii, phone_e164)
        for message in messages:
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", message.body)
            if found:
                return found.group(1)
        raise AssertionError(f"no SMS code sent to {phone_e164}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = databases.scratch_database_url(db_kind, tmp_path_factory.mktemp("e2e"), "e2e")
    engine = databases.migrated_engine(url)
    settings = Settings(env="test", database_url=url, outbox_dispatch_in_process=True, log_level="WARNING")
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the e2e server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app, engine=engine, db_kind=db_kind)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        if db_kind == "postgres":
            databases.drop_postgres_database(engine.url.database or "")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (make browser installs Debian's chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def desk(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A desktop browser tab (HQ staff, the station's touch screen), Chinese UI."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    yield watched_page(context)
    context.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A phone-sized tab, 375 px wide (the member H5 pages)."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    yield watched_page(context)
    context.close()


def watched_page(context: BrowserContext) -> Page:
    """A new tab of ``context`` that records script errors and CSP violations (see console_problems)."""
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.console_problems = problems  # type: ignore[attr-defined]
    return page


def wait_for_points(live_server: LiveServer, member_id: uuid.UUID, expected: int) -> None:
    """Until the member's available points read ``expected`` (the server's outbox gives rewards, such as
    the first plate's welcome points, a moment after the commit that earned them)."""
    deadline = time.monotonic() + 10
    while True:
        with live_server.session() as session:
            available = points.balances(session, member_id).available
        if available == expected or time.monotonic() > deadline:
            assert available == expected
            return
        time.sleep(0.1)


def screenshot(page: Page, name: str, db_kind: str) -> Path:
    """Save the journey's screenshot (full page) as var/screenshots/<db>/<name>.png."""
    folder = SCREENSHOTS / db_kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def console_problems(page: Page) -> list[str]:
    """Script errors and CSP violations the page logged."""
    return list(page.console_problems)  # type: ignore[attr-defined]
