"""Journeys that cross consoles: what head office changes, the forecourt sees; what the forecourt
sells, the driver sees on their phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer, console_problems, screenshot, watched_page
from tests.fixtures.builders import PASSWORD, make_staff
from tests.pos.support import priced_station


@pytest.fixture
def second_desk(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """Another person's screen (its own cookies): the station's touch screen beside head office's desk."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    yield watched_page(context)
    context.close()


def _sign_in(page: Page, console: str, username: str) -> None:
    page.goto(f"/{console}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/{console}")


def test_an_admin_changes_a_price_and_the_station_console_quotes_with_it(
    desk: Page, second_desk: Page, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        admin = make_staff(session, "admin")
        station = priced_station(session)
        attendant = make_staff(session, "attendant", station=station)
        session.commit()

    _sign_in(second_desk, "station", attendant.user.username)
    second_desk.click("[data-testid=walk-in]")
    second_desk.select_option("[data-testid=grade]", "95")
    second_desk.fill("[data-testid=liters]", "40")
    second_desk.click("[data-testid=quote]")
    expect(second_desk.locator("[data-testid=quote-gross]")).to_have_text("¥320.00")  # 40 L × ¥8.00

    _sign_in(desk, "admin", admin.user.username)
    desk.goto(f"/admin/stations/{station.code}")
    form = desk.locator("[data-testid=set-price-form]")
    form.locator("[data-testid=price-grade]").select_option("95")
    form.locator("[data-testid=price-yuan]").fill("8.15")
    form.locator("[data-testid=set-price]").click()
    desk.wait_for_url(f"**/admin/stations/{station.code}?saved=95")

    second_desk.click("[data-testid=quote]")
    expect(second_desk.locator("[data-testid=quote-gross]")).to_have_text("¥326.00")  # 40 L × ¥8.15
    assert console_problems(desk) == []
    assert console_problems(second_desk) == []
    screenshot(second_desk, "station-quotes-the-new-price", live_server.db_kind)
