"""Head office program and operations journeys in a real browser: an admin changes a station's
95# price and sees it as the current price and in the price history."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from forecourt.kit.clock import utcnow
from forecourt.stations import service as stations
from tests.e2e.conftest import LiveServer, console_problems, no_horizontal_scroll, screenshot
from tests.fixtures.builders import PASSWORD, make_staff
from tests.pos.support import priced_station


def _sign_in(page: Page, username: str, next_path: str) -> None:
    page.goto(f"/admin/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_an_admin_changes_a_price(desk: Page, live_server: LiveServer) -> None:
    with live_server.session() as session:
        admin = make_staff(session, "admin")
        station = priced_station(session)
        session.commit()
    station_page = f"/admin/stations/{station.code}"

    _sign_in(desk, admin.user.username, station_page)
    current_95 = desk.locator("[data-testid=current-prices] tr[data-grade='95'] [data-testid=price]")
    expect(current_95).to_have_text("¥8.00")
    form = desk.locator("[data-testid=set-price-form]")
    form.locator("[data-testid=price-grade]").select_option("95")
    form.locator("[data-testid=price-yuan]").fill("8.15")
    form.locator("[data-testid=set-price]").click()

    desk.wait_for_url(f"**{station_page}?saved=95")
    expect(current_95).to_have_text("¥8.15")
    history_95 = desk.locator("[data-testid=price-history] tr[data-grade='95']")
    expect(history_95).to_have_count(2)
    expect(history_95.first).to_contain_text("¥8.15")
    with live_server.session() as session:
        assert stations.price_in_force(session, station.id, "95", utcnow()) == 815
    assert no_horizontal_scroll(desk)
    assert console_problems(desk) == []
    screenshot(desk, "admin-price-changed", live_server.db_kind)


def test_a_refused_price_shows_the_reason_and_changes_nothing(desk: Page, live_server: LiveServer) -> None:
    with live_server.session() as session:
        admin = make_staff(session, "admin")
        station = priced_station(session)
        session.commit()
    station_page = f"/admin/stations/{station.code}"

    _sign_in(desk, admin.user.username, station_page)
    form = desk.locator("[data-testid=set-price-form]")
    form.locator("[data-testid=price-grade]").select_option("95")
    form.locator("[data-testid=price-yuan]").fill("80")
    form.locator("[data-testid=set-price]").click()

    expect(desk.locator("#messages [data-error-code=invalid_price]")).to_be_visible()
    expect(desk.locator("[data-testid=current-prices] tr[data-grade='95'] [data-testid=price]")).to_have_text(
        "¥8.00"
    )
    with live_server.session() as session:
        assert stations.price_in_force(session, station.id, "95", utcnow()) == 800
