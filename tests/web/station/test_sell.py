"""Selling at the station console: identify by plate, quote with coupons and points, commit, receipt,
and every refusal leaving nothing written."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from tests.coupons.test_redemption import coupon_now
from tests.fixtures.builders import StaffLogin, make_staff, make_station
from tests.pos.support import footprint, points_of, shown_member_code
from tests.web.station.conftest import Driver
from tests.web.support import htmx, post_form, sign_in

BASKET: dict[str, Any] = {"grade": "92", "liters": "40", "coupon_mode": "auto", "points_mode": "max"}
"""40 L of 92# at ¥7.50 = ¥300.00."""


def identified(client: TestClient, driver: Driver) -> str:
    """The member panel after typing the driver's plate."""
    response = htmx(client, "POST", "/station/identify", {"identifier": driver.plate, "kind": "auto"})
    assert response.status_code == 200, response.text
    return response.text


def quoted(client: TestClient, driver: Driver | None, **fields: Any) -> Any:
    data = {**BASKET, **fields}
    if driver is not None:
        data["member_id"] = str(driver.member.id)
    return htmx(client, "POST", "/station/quote", data)


def commit_form(quote_html: str) -> dict[str, Any]:
    """The hidden fields of the quote's commit form, paying the due amount in cash."""
    basket = re.search(r'name="basket" value="([^"]*)"', quote_html)
    txn = re.search(r'name="pos_txn_id" value="([^"]*)"', quote_html)
    due = re.search(r'data-testid="pay-amount-1"\s+value="([^"]*)"', quote_html)
    assert basket, quote_html
    assert txn, quote_html
    assert due, quote_html
    return {
        "basket": unescape(basket.group(1)),
        "pos_txn_id": txn.group(1),
        "method": ["cash", "cash"],
        "paid": [due.group(1), ""],
    }


def test_an_attendant_sees_the_members_coupons_after_typing_the_plate(
    client: TestClient, attendant: StaffLogin, driver: Driver
) -> None:
    page = client.get("/station")
    assert page.status_code == 200
    assert 'data-testid="identifier"' in page.text

    panel = identified(client, driver)
    assert f'value="{driver.member.id}"' in panel
    assert "立减10元券" in panel
    assert f'value="{driver.coupon.id}"' in panel
    assert 'data-testid="member-points">1,000<' in panel
    assert "张*" in panel or "*" in panel  # the name is masked
    assert "张三" not in panel


def test_the_quote_takes_the_best_coupon_and_the_points_and_changes_nothing(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    before = footprint(session)
    response = quoted(client, driver)
    assert response.status_code == 200, response.text
    assert 'data-testid="quote-gross">¥300.00<' in response.text
    assert 'data-testid="quote-coupons">¥10.00' in response.text
    assert 'data-testid="quote-points">1,000 = ¥10.00<' in response.text
    assert 'data-testid="quote-due">¥280.00<' in response.text
    assert footprint(session) == before
    assert coupon_now(session, driver.coupon.id).status == "available"


def test_a_commit_records_the_sale_spends_points_uses_the_coupon_and_shows_the_receipt(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    before = footprint(session)
    form = commit_form(quoted(client, driver).text)

    done = htmx(client, "POST", "/station/commit", form)

    assert done.status_code == 200, done.text
    assert 'data-testid="receipt"' in done.text
    assert "data-print" in done.text
    earned = int(re.search(r'data-testid="sale-earned">([\d,]+)<', done.text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert earned == 280  # ¥280.00 paid → 1 point per yuan
    assert f'data-testid="points-after">{earned}<' in done.text  # 1,000 spent, 280 earned
    assert footprint(session).sales == before.sales + 1
    assert points_of(session, driver.member) == earned
    used = coupon_now(session, driver.coupon.id)
    assert used.status == "used"
    assert used.used_by == attendant.user.username


def test_submitting_the_same_commit_form_twice_sells_once(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    form = commit_form(quoted(client, driver, points_mode="none", coupon_mode="none").text)
    assert htmx(client, "POST", "/station/commit", form).status_code == 200
    after_first = footprint(session)

    again = htmx(client, "POST", "/station/commit", form)

    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#messages"
    assert 'data-error-code="duplicate_pos_txn_id"' in again.text
    assert footprint(session) == after_first


def test_chosen_coupons_and_an_amount_of_points_are_what_the_quote_uses(
    client: TestClient, attendant: StaffLogin, driver: Driver
) -> None:
    response = quoted(
        client, driver, coupon=[str(driver.coupon.id)], points_mode="amount", points_amount="500"
    )
    assert response.status_code == 200, response.text
    assert 'data-testid="quote-points">500 = ¥5.00<' in response.text
    assert 'data-testid="quote-due">¥285.00<' in response.text


def test_an_amount_in_yuan_is_sold_as_the_litres_it_buys(client: TestClient, attendant: StaffLogin) -> None:
    response = quoted(client, None, liters="", amount="200")
    assert response.status_code == 200, response.text
    assert "26.66" in response.text  # litres: ¥200 at ¥7.50/L
    assert 'data-testid="quote-due">¥199.95<' in response.text


def test_the_wallet_is_refused_when_the_member_was_found_by_plate(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    panel = identified(client, driver)
    assert 'data-testid="use-wallet"' not in panel
    refused = quoted(client, driver, wallet="1")
    assert refused.status_code == 400
    assert 'data-error-code="wallet_needs_member_code"' in refused.text

    form = commit_form(quoted(client, driver).text)
    form["basket"] = form["basket"].replace('"wallet":false', '"wallet":true')
    before = footprint(session)
    forged = htmx(client, "POST", "/station/commit", form)
    assert 'data-error-code="wallet_needs_member_code"' in forged.text
    assert footprint(session) == before


def test_a_closed_station_sells_nothing(
    client: TestClient, attendant: StaffLogin, driver: Driver, station: Station, session: Session
) -> None:
    form = commit_form(quoted(client, driver).text)
    stations.set_open(session, SYSTEM, station.code, is_open=False)
    session.flush()
    before = footprint(session)

    refused = htmx(client, "POST", "/station/commit", form)

    assert refused.status_code == 409
    assert 'data-error-code="station_closed"' in refused.text
    assert footprint(session) == before
    assert points_of(session, driver.member) == 1_000
    assert coupon_now(session, driver.coupon.id).status == "available"
    assert "notice-warn" in client.get("/station").text


def test_payments_short_of_the_due_amount_are_refused(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    form = commit_form(quoted(client, driver).text)
    form["paid"] = ["100", ""]
    before = footprint(session)
    refused = htmx(client, "POST", "/station/commit", form)
    assert refused.status_code == 400
    assert 'data-error-code="payment_mismatch"' in refused.text
    assert footprint(session) == before


def test_an_empty_basket_or_a_bad_amount_says_what_is_wrong(
    client: TestClient, attendant: StaffLogin
) -> None:
    empty = quoted(client, None, liters="", grade="")
    assert empty.status_code == 400
    assert "Add fuel" in empty.text or "加油" in empty.text
    bad = quoted(client, None, liters="", amount="12.345")
    assert bad.status_code == 400


def test_an_unknown_plate_is_a_clear_error(client: TestClient, attendant: StaffLogin) -> None:
    response = htmx(client, "POST", "/station/identify", {"identifier": "云A00000", "kind": "plate"})
    assert response.status_code == 404
    assert 'data-error-code="member_not_found"' in response.text


def test_head_office_staff_are_told_the_console_is_for_stations_and_an_admin_may_pick_one(
    client: TestClient, staff: Any, station: Station, driver: Driver
) -> None:
    sign_in(client, staff("admin"), console="station")
    page = client.get("/station")
    assert page.status_code == 200
    assert 'data-testid="no-station"' in page.text
    assert 'data-testid="identifier"' not in page.text
    refused = htmx(client, "POST", "/station/identify", {"identifier": driver.plate})
    assert refused.status_code == 403

    picked = post_form(
        client, "/station/pick", {"station": station.code, "next": "/station"}, follow_redirects=False
    )
    assert picked.status_code == 303

    page = client.get("/station")
    assert 'data-testid="no-station"' not in page.text
    assert 'data-testid="identifier"' in page.text
    assert "立减10元券" in identified(client, driver)


def test_station_staff_may_not_pick_another_station(
    client: TestClient, attendant: StaffLogin, session: Session
) -> None:
    other = make_station(session)
    refused = post_form(client, "/station/pick", {"station": other.code}, follow_redirects=False)
    assert refused.status_code == 403
    assert 'data-testid="station-picker"' not in client.get("/station").text


def test_the_wallet_is_offered_when_the_member_shows_their_member_code(
    client: TestClient, attendant: StaffLogin, driver: Driver, app: FastAPI
) -> None:
    code = shown_member_code(app, driver.member)["value"]
    panel = htmx(client, "POST", "/station/identify", {"identifier": code, "kind": "auto"})
    assert panel.status_code == 200, panel.text
    assert 'data-testid="use-wallet"' in panel.text

    with_wallet = quoted(client, driver, wallet="1")

    assert with_wallet.status_code == 200, with_wallet.text
    assert '"wallet":true' in unescape(with_wallet.text)


def test_a_shown_member_code_lets_the_wallet_pay_for_two_minutes_and_for_that_attendant_only(
    client: TestClient, attendant: StaffLogin, driver: Driver, app: FastAPI, session: Session
) -> None:
    code = shown_member_code(app, driver.member)["value"]
    assert htmx(client, "POST", "/station/identify", {"identifier": code, "kind": "auto"}).status_code == 200
    with time_machine.travel(utcnow() + timedelta(seconds=121)):
        late = quoted(client, driver, wallet="1")
    assert 'data-error-code="wallet_needs_member_code"' in late.text

    assert htmx(client, "POST", "/station/identify", {"identifier": code, "kind": "auto"}).status_code == 200
    colleague = make_staff(
        session, "attendant", station=stations.get_station_by_id(session, attendant.user.station_id)
    )
    sign_in(client, colleague, console="station")  # another attendant on the same till
    refused = quoted(client, driver, wallet="1")
    assert 'data-error-code="wallet_needs_member_code"' in refused.text


def test_a_shown_member_code_lets_the_wallet_pay_for_one_sale_only(
    client: TestClient, attendant: StaffLogin, driver: Driver, app: FastAPI
) -> None:
    code = shown_member_code(app, driver.member)["value"]
    assert htmx(client, "POST", "/station/identify", {"identifier": code, "kind": "auto"}).status_code == 200
    first = quoted(client, driver, wallet="1")
    sold = htmx(client, "POST", "/station/commit", commit_form(first.text))
    assert sold.status_code == 200, sold.text

    again = quoted(client, driver, wallet="1")

    assert 'data-error-code="wallet_needs_member_code"' in again.text
