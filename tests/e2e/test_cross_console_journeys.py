"""Journeys that cross consoles: what head office changes, the forecourt sees; what the forecourt
sells, the driver sees on their phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from forecourt.kit.clock import utcnow
from tests.coupons.support import give_coupon, make_template
from tests.e2e.conftest import LiveServer, console_problems, screenshot, wait_for_points, watched_page
from tests.fixtures.builders import PASSWORD, make_staff
from tests.members.support import earn_points, make_member, unique_phone, unique_plate
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


def test_an_attendant_sells_with_a_coupon_and_points_and_the_members_phone_shows_the_new_balance(
    desk: Page, phone: Page, live_server: LiveServer
) -> None:
    number = unique_phone()
    state = live_server.app.state
    with live_server.session() as session:
        station = priced_station(session)
        attendant = make_staff(session, "attendant", station=station)
        plate = unique_plate()
        member = make_member(session, state.pii, phone=number, plates=(plate,))
        earn_points(session, state.ledger_signer, member.id, 1_000)
        template = make_template(session, name="加油立减10元", terms={"amount_off_fen": 1000})
        give_coupon(session, member, template.code, utcnow())
        session.commit()
    wait_for_points(live_server, member.id, 1_500)  # 1,000 + the first plate's 500 welcome points

    _sign_in(desk, "station", attendant.user.username)
    desk.fill("[data-testid=identifier]", plate)
    desk.click("[data-testid=identify]")
    expect(desk.locator("[data-testid=member-points]")).to_have_text("1,500")
    desk.locator(f"[data-testid=coupon-choice][data-coupon-title='{template.name}']").check()
    desk.check("[data-testid=points-max]")
    desk.fill("[data-testid=liters]", "40")
    desk.click("[data-testid=quote]")
    expect(desk.locator("[data-testid=quote-due]")).to_have_text("¥275.00")  # ¥300 − ¥10 coupon − ¥15 points
    desk.click("[data-testid=commit]")
    expect(desk.locator("[data-testid=points-after]")).to_have_text("275")
    screenshot(desk, "journey-sale-at-the-station", live_server.db_kind)

    phone.goto("/m")
    phone.fill("[data-testid=phone]", number)
    phone.click("[data-testid=send-code]")
    expect(phone.locator("[data-testid=code]")).to_be_visible()
    phone.fill("[data-testid=code]", live_server.last_sms_code(f"+86{number}"))
    phone.click("[data-testid=sign-in]")
    expect(phone.locator("[data-testid=points-available]")).to_have_text("275")
    phone.goto("/m/history")
    expect(phone.locator("[data-testid=sale]").first).to_contain_text("¥275.00")
    phone.goto("/m/coupons?tab=used")
    expect(phone.locator("[data-testid=coupon]").first).to_contain_text(template.name)
    assert console_problems(desk) == []
    assert console_problems(phone) == []
    screenshot(phone, "journey-member-sees-the-new-balance", live_server.db_kind)
