"""Station console journeys in a real browser (the attendant's touch screen)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from forecourt.kit.clock import utcnow
from forecourt.ledger import points
from tests.coupons.support import give_coupon, make_template
from tests.e2e.conftest import LiveServer, console_problems, screenshot
from tests.fixtures.builders import PASSWORD, make_staff
from tests.members.support import earn_points, make_member, unique_plate
from tests.pos.support import priced_station


@dataclass(frozen=True)
class Forecourt:
    attendant: str
    plate: str
    coupon_title: str


@pytest.fixture
def forecourt(live_server: LiveServer) -> Forecourt:
    """A priced station, its attendant, and a member with a plate, 1,500 points (1,000 + the 500
    welcome points of the first plate) and a ¥10 coupon."""
    state = live_server.app.state
    with live_server.session() as session:
        station = priced_station(session)
        attendant = make_staff(session, "attendant", station=station)
        plate = unique_plate()
        member = make_member(session, state.pii, plates=(plate,))
        earn_points(session, state.ledger_signer, member.id, 1_000)
        template = make_template(session, name="加油立减10元", terms={"amount_off_fen": 1000})
        give_coupon(session, member, template.code, utcnow())
        session.commit()
    _wait_for_points(live_server, member.id, 1_500)
    return Forecourt(attendant.user.username, plate, template.name)


def _wait_for_points(live_server: LiveServer, member_id: uuid.UUID, expected: int) -> None:
    """Until the server's outbox has given the welcome points (500, on the first plate)."""
    deadline = time.monotonic() + 10
    while True:
        with live_server.session() as session:
            available = points.balances(session, member_id).available
        if available == expected or time.monotonic() > deadline:
            assert available == expected
            return
        time.sleep(0.1)


def test_an_attendant_sells_fuel_to_a_member_identified_by_plate_with_a_coupon_and_points(
    desk: Page, live_server: LiveServer, forecourt: Forecourt
) -> None:
    desk.goto("/station/login")
    desk.fill("input[name=username]", forecourt.attendant)
    desk.fill("input[name=password]", PASSWORD)
    desk.click("button[type=submit]")
    desk.wait_for_url("**/station")

    desk.fill("[data-testid=identifier]", forecourt.plate)
    desk.click("[data-testid=identify]")
    expect(desk.locator("[data-testid=member-points]")).to_have_text("1,500")
    desk.locator(f"[data-testid=coupon-choice][data-coupon-title='{forecourt.coupon_title}']").check()
    desk.check("[data-testid=points-max]")
    desk.fill("[data-testid=liters]", "40")
    desk.click("[data-testid=quote]")

    expect(desk.locator("[data-testid=quote-due]")).to_have_text("¥275.00")  # ¥300 − ¥10 coupon − ¥15 points
    expect(desk.locator("[data-testid=pay-amount-1]")).to_have_value("275.00")
    desk.click("[data-testid=commit]")

    expect(desk.locator("[data-testid=receipt]")).to_be_visible()
    expect(desk.locator("[data-testid=points-after]")).to_have_text("275")  # 1,500 spent, ¥275 earns 275
    assert "275" in desk.locator("[data-testid=receipt]").inner_text()
    assert console_problems(desk) == []
    screenshot(desk, "station-sell-with-coupon-and-points", live_server.db_kind)
