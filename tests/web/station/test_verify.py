"""Verifying (核销) a voucher at the station console: look it up, verify it once, refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.clock import utcnow
from forecourt.members.pii import Pii
from forecourt.stations.models import Station
from tests.coupons.support import give_coupon
from tests.coupons.test_redemption import coupon_now
from tests.fixtures.builders import StaffLogin
from tests.members.support import make_member
from tests.web.station.conftest import Driver
from tests.web.support import htmx


def test_an_attendant_looks_up_a_car_wash_voucher_and_verifies_it_once(
    client: TestClient, attendant: StaffLogin, session: Session, pii: Pii, station: Station
) -> None:
    voucher = give_coupon(session, make_member(session, pii), "WASH-FREE", utcnow())
    assert 'data-testid="voucher-code"' in client.get("/station/verify").text
    typed = " ".join(voucher.code[i : i + 4] for i in range(0, len(voucher.code), 4)).lower()

    shown = htmx(client, "POST", "/station/verify/check", {"code": typed})
    assert shown.status_code == 200, shown.text
    assert 'data-status="available"' in shown.text
    assert 'data-testid="voucher-verify"' in shown.text
    assert coupon_now(session, voucher.id).status == "available"

    done = htmx(client, "POST", "/station/verify", {"code": voucher.code})
    assert done.status_code == 200, done.text
    assert f'data-coupon-id="{voucher.id}"' in done.text
    used = coupon_now(session, voucher.id)
    assert used.status == "used"
    assert used.used_station == station.code
    assert used.used_by == attendant.user.username

    again = htmx(client, "POST", "/station/verify", {"code": voucher.code})
    assert again.status_code == 409
    assert 'data-error-code="coupon_already_used"' in again.text
    assert 'data-status="used"' in htmx(client, "POST", "/station/verify/check", {"code": voucher.code}).text


def test_a_discount_coupon_is_not_verified_but_used_with_a_sale(
    client: TestClient, attendant: StaffLogin, driver: Driver, session: Session
) -> None:
    refused = htmx(client, "POST", "/station/verify", {"code": driver.coupon.code})
    assert refused.status_code >= 400
    assert 'data-error-code="coupon_not_verifiable"' in refused.text
    assert coupon_now(session, driver.coupon.id).status == "available"


def test_an_unknown_or_empty_code_is_a_clear_error(client: TestClient, attendant: StaffLogin) -> None:
    unknown = htmx(client, "POST", "/station/verify/check", {"code": "NOPE1234NOPE"})
    assert unknown.status_code == 404
    assert 'data-error-code="coupon_not_found"' in unknown.text
    empty = htmx(client, "POST", "/station/verify", {"code": "  "})
    assert empty.status_code == 400
