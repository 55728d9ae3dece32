"""What a signed-in driver sees and does on the member pages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from forecourt.members import repository
from forecourt.members.pii import Pii
from forecourt.payments import service as payments
from forecourt.web.templating import yuan as format_yuan
from tests.coupons.support import make_template
from tests.devices.support import issue
from tests.members.support import earn_points, last_code, unique_phone, unique_plate
from tests.pos.support import Terminal, fuel, priced_station
from tests.web.member.support import member_sign_in
from tests.web.support import htmx, post_form


def beijing(text: str) -> datetime:
    """A wall-clock time in Beijing (``2026-11-08 12:00``) as a UTC-aware moment."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_card_shows_the_qr_code_the_points_and_the_tier_nudge(client, session, pii: Pii, app):
    member = member_sign_in(client, session, pii)
    earn_points(session, app.state.ledger_signer, member.id, 1234)
    page = client.get("/m")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="member-qr"' in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert 'hx-trigger="every 30s"' in html
    assert "1,234" in html
    assert "<progress" in html
    assert "再消费¥2,000.00升级银牌" in html  # a new member: ¥2,000 paid reaches silver
    code = client.get("/m/code")
    assert code.status_code == 200
    assert 'data-testid="member-code-digits"' in code.text


def test_a_member_claims_a_coupon_from_the_centre(client, session, pii):
    template = make_template(session, claimable=True, total_stock=10, per_member_limit=1)
    member_sign_in(client, session, pii)
    centre = client.get("/m/coupons")
    assert f'data-template="{template.code}"' in centre.text
    claimed = htmx(client, "POST", "/m/coupons/claim", {"template": template.code})
    assert claimed.status_code == 200
    assert 'data-testid="claimed"' in claimed.text
    assert 'data-testid="coupon"' in claimed.text
    again = htmx(client, "POST", "/m/coupons/claim", {"template": template.code})
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#messages"
    assert "coupon_limit_reached" in again.text
    assert "已领取" in again.text or "上限" in again.text


def test_a_member_adds_a_plate_and_a_bad_plate_is_refused(client, session, pii):
    member = member_sign_in(client, session, pii)
    plate = unique_plate()
    added = post_form(client, "/m/profile/plates", {"plate": plate}, follow_redirects=False)
    assert added.status_code == 303
    assert [row.plate for row in repository.plates_of(session, member.id)] == [plate]
    assert plate in client.get("/m/profile").text
    bad = htmx(client, "POST", "/m/profile/plates", {"plate": "ABC"})
    assert bad.status_code == 400
    assert "invalid_plate" in bad.text
    assert "车牌" in bad.text
    assert [row.plate for row in repository.plates_of(session, member.id)] == [plate]
    removed = post_form(client, "/m/profile/plates/remove", {"plate": plate}, follow_redirects=False)
    assert removed.status_code == 303
    assert list(repository.plates_of(session, member.id)) == []


def test_a_member_edits_the_profile(client, session, pii):
    member = member_sign_in(client, session, pii)
    response = post_form(
        client,
        "/m/profile",
        {"name": "李四", "gender": "female", "birthday": "1990-05-01", "marketing_consent": "on"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(member)
    assert member.gender == "female"
    assert member.birthday.isoformat() == "1990-05-01"
    assert member.marketing_consent is True
    assert "李四" in client.get("/m/profile").text
    bad = htmx(client, "POST", "/m/profile", {"birthday": "not a date"})
    assert bad.status_code == 400


def test_a_sandbox_top_up_raises_the_wallet_balance(client, session, pii):
    phone = unique_phone()
    member = member_sign_in(client, session, pii, phone)
    wallet = client.get("/m/wallet")
    assert 'data-testid="amount-50000"' in wallet.text
    first = post_form(client, "/m/wallet/top-up", {"amount_fen": "50000"}, follow_redirects=False)
    assert first.headers["location"] == "/m/wallet/device"  # a browser new for payments: SMS step-up
    assert post_form(client, "/m/wallet/device/code", follow_redirects=False).status_code == 303
    wrong = htmx(client, "POST", "/m/wallet/device/verify", {"code": "12345"})
    assert wrong.status_code == 400
    verified = post_form(
        client, "/m/wallet/device/verify", {"code": last_code(session, pii, phone)}, follow_redirects=False
    )
    assert verified.headers["location"] == "/m/wallet?device=verified"
    started = post_form(client, "/m/wallet/top-up", {"amount_fen": "50000"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    pay_page = started.headers["location"]
    assert pay_page.startswith("/m/wallet/pay/")
    assert 'data-testid="pay"' in client.get(pay_page).text
    paid = post_form(client, pay_page, follow_redirects=False)
    assert paid.status_code == 303
    after = client.get(paid.headers["location"])
    assert 'data-testid="paid"' in after.text
    intent = payments.get_intent(session, uuid.UUID(pay_page.rsplit("/", 1)[1]))
    assert intent.status == "paid"
    assert intent.member_id == member.id
    wallet = client.get("/m/wallet")
    assert "¥550.00" in wallet.text  # ¥500 paid in and the ¥50 bonus of the default tiers
    assert "充值" in wallet.text


def test_history_shows_a_fuel_sale_with_its_station_amount_and_points(client, session, pii, app):
    member = member_sign_in(client, session, pii)
    station = priced_station(session)
    terminal = Terminal(client, issue(session, app, station))
    sold = terminal.commit(terminal.basket(fuel(liters="40.00"), member=member))
    assert sold.status_code == 201, sold.text
    sale = sold.json()
    history = client.get("/m/history")
    assert 'data-testid="sale"' in history.text
    assert station.name in history.text
    assert format_yuan(sale["due_fen"]) in history.text
    earned = sale["points_earned"]["total"]
    assert f"+{earned:,}积分" in history.text
    card = client.get("/m")
    assert f'data-testid="points-available">{earned:,}<' in card.text


def test_member_day_coupons_open_on_the_8th(client, session, pii):
    template = make_template(session, claimable=True, member_day=True, per_member_limit=1)
    # next month (travelling back would expire the session cookie in the test client's real time)
    month = (datetime.now(UTC).replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    with time_machine.travel(beijing(f"{month}-07 23:50"), tick=False):
        member_sign_in(client, session, pii)
        closed = client.get("/m/coupons").text
        assert f'data-template="{template.code}"' in closed
        assert "每月8日会员日开抢" in closed
        refused = htmx(client, "POST", "/m/coupons/claim", {"template": template.code})
        assert refused.status_code == 409
    with time_machine.travel(beijing(f"{month}-08 00:10"), tick=False):
        claimed = htmx(client, "POST", "/m/coupons/claim", {"template": template.code})
        assert claimed.status_code == 200
        assert 'data-testid="claimed"' in claimed.text


def test_history_lists_points_postings(client, session, pii, app):
    member = member_sign_in(client, session, pii)
    earn_points(session, app.state.ledger_signer, member.id, 300)
    sales = client.get("/m/history")
    assert sales.status_code == 200
    points = client.get("/m/history?tab=points")
    assert 'data-testid="points-line"' in points.text
    assert "+300" in points.text


def test_export_downloads_my_data_as_json(client, session, pii):
    member = member_sign_in(client, session, pii)
    response = client.get("/m/profile/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = json.loads(response.text)
    assert document["format"] == "forecourt-member-export/1"
    assert str(member.id) in response.text


def test_deleting_the_account_needs_confirmation_then_erases_and_signs_out(client, session, pii):
    member = member_sign_in(client, session, pii)
    assert 'data-testid="delete-confirm"' in client.get("/m/profile/delete").text
    unconfirmed = post_form(client, "/m/profile/delete", {})
    assert unconfirmed.status_code == 400
    session.refresh(member)
    assert member.status == "active"
    response = post_form(client, "/m/profile/delete", {"confirm": "on"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/m/login?deleted=true"
    session.refresh(member)
    assert member.status == "deleted"
    assert member.phone is None
    assert client.get("/m", follow_redirects=False).status_code == 303


def test_the_wallet_page_in_english(client, session, pii):
    member_sign_in(client, session, pii)
    client.get("/lang/en?next=/m/wallet")
    page = client.get("/m/wallet")
    assert '<html lang="en">' in page.text
    assert "Top up" in page.text
    assert "Recent activity" in page.text
    assert "充值" not in page.text


def test_a_member_adds_and_removes_a_vehicle(client, session, pii):
    member = member_sign_in(client, session, pii)
    added = htmx(
        client,
        "POST",
        "/m/profile/vehicles",
        {"model": "大众朗逸", "fuel_preference": "92", "yearly_mileage_km": "20000"},
    )
    assert added.status_code == 204
    assert added.headers["HX-Redirect"].startswith("/m/profile")
    [vehicle] = repository.vehicles_of(session, member.id)
    assert (vehicle.model, vehicle.fuel_preference, vehicle.yearly_mileage_km) == ("大众朗逸", "92", 20000)
    assert "大众朗逸" in client.get("/m/profile").text
    bad = htmx(client, "POST", "/m/profile/vehicles", {"model": "x", "yearly_mileage_km": "lots"})
    assert bad.status_code == 400
    assert len(repository.vehicles_of(session, member.id)) == 1
    removed = htmx(client, "POST", f"/m/profile/vehicles/{vehicle.id}/remove")
    assert removed.status_code == 204
    assert list(repository.vehicles_of(session, member.id)) == []
