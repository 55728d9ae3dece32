"""Verification (核销, C6) of standalone vouchers by a station's console, its staff and partners, and
the coupon reports (N2): the funnel issued → claimed → used, and what each funder owes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.auth import service as auth_service
from forecourt.config import Settings
from forecourt.coupons import issuance
from forecourt.coupons.models import Coupon
from forecourt.coupons.schemas import BatchCreate
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, utcnow
from forecourt.members.models import Member
from forecourt.pos.models import Sale
from tests.coupons.support import give_coupon, make_template
from tests.devices.support import IssuedCredential
from tests.fixtures.builders import PASSWORD, StaffLogin, make_station, unique
from tests.members.support import make_member
from tests.pos.support import Terminal, fuel, priced_station

DEVICE_VERIFY = "/api/v1/pos/coupons/verify"
STAFF_VERIFY = "/api/v1/coupons/verify"
PARTNER_VERIFY = "/api/v1/partner/coupons/verify"
FUNNEL = "/api/v1/coupon-reports/funnel"
FUNDING = "/api/v1/coupon-reports/funding"

MakeMember = Callable[..., Member]
Staff = Callable[..., StaffLogin]


def coupon_now(session: Session, coupon_id: uuid.UUID) -> Coupon:
    session.expire_all()
    return session.get_one(Coupon, coupon_id)


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    found: dict[str, Any] = body["error"]
    return found


def partner_login(client: TestClient, session: Session, partner_code: str) -> dict[str, str]:
    """A partner account bound to ``partner_code``, signed in: its bearer headers."""
    user = auth_service.create_user(
        session,
        SYSTEM,
        username=unique("partner"),
        password=PASSWORD,
        role="partner",
        partner_code=partner_code,
    )
    session.flush()
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def partner_template(session: Session, partner_code: str = "WASHCO") -> str:
    return make_template(
        session,
        name="合作洗车券",
        kind="voucher",
        terms={"categories": ["car_wash"]},
        funder="partner",
        partner_code=partner_code,
        settlement_fen=2500,
        face_value_fen=4000,
    ).code


# --- the station's console ---------------------------------------------------------------------------


def test_the_console_verifies_a_car_wash_voucher_once(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    voucher = give_coupon(session, member(), "WASH-FREE", utcnow())

    first = terminal.post(DEVICE_VERIFY, {"code": voucher.code})
    assert first.status_code == 200, first.json()
    result = first.json()
    assert result["coupon_id"] == str(voucher.id)
    assert result["template"] == "WASH-FREE"
    assert result["station"] == terminal.station
    assert result["settlement_fen"] is None
    used = coupon_now(session, voucher.id)
    assert used.status == "used"
    assert used.used_station == terminal.station
    assert used.used_sale_id is None
    assert used.discount_fen == 4000

    again = terminal.post(DEVICE_VERIFY, {"code": voucher.code})
    assert again.status_code == 409
    assert error(again)["code"] == "coupon_already_used"


def test_a_printed_code_is_verified_however_it_is_typed(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    voucher = give_coupon(session, member(), "WASH-FREE", utcnow())
    typed = " ".join(voucher.code[i : i + 4] for i in range(0, len(voucher.code), 4)).lower()
    response = terminal.post(DEVICE_VERIFY, {"code": typed})
    assert response.status_code == 200, response.json()
    assert response.json()["coupon_id"] == str(voucher.id)


def test_a_coupon_that_discounts_a_sale_is_not_verified_but_used_at_the_pump(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    coupon = give_coupon(session, member(), make_template(session).code, utcnow())
    response = terminal.post(DEVICE_VERIFY, {"code": coupon.code})
    assert response.status_code == 409
    assert error(response)["code"] == "coupon_not_verifiable"
    assert error(response)["details"]["reason"] == "needs_sale"
    assert coupon_now(session, coupon.id).status == "available"


def test_a_voucher_of_another_station_is_not_verified_here(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    elsewhere = make_template(
        session, kind="voucher", terms={"categories": ["car_wash"], "stations": ["ELSEWHERE1"]}
    ).code
    voucher = give_coupon(session, member(), elsewhere, utcnow())
    response = terminal.post(DEVICE_VERIFY, {"code": voucher.code})
    assert error(response)["code"] == "coupon_not_verifiable"
    assert error(response)["details"]["reason"] == "wrong_station"
    assert coupon_now(session, voucher.id).status == "available"


def test_an_expired_or_unknown_voucher_is_refused(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    old = give_coupon(session, member(), "WASH-FREE", utcnow() - timedelta(days=100))
    assert error(terminal.post(DEVICE_VERIFY, {"code": old.code}))["code"] == "coupon_expired"
    assert error(terminal.post(DEVICE_VERIFY, {"code": "ZZZZ9999ZZZZ"}))["code"] == "coupon_not_found"


def test_a_voucher_used_at_the_pump_cannot_be_verified(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    owner = member()
    voucher = give_coupon(session, owner, "WASH-FREE", utcnow())
    body = terminal.basket(fuel("92", "10.00"), {**_wash_line()}, member=owner)
    body["redeem"]["coupons"] = [str(voucher.id)]
    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    assert sold.json()["due_fen"] == 7_500
    assert error(terminal.post(DEVICE_VERIFY, {"code": voucher.code}))["code"] == "coupon_already_used"


def _wash_line() -> dict[str, Any]:
    return {
        "line_id": "2",
        "kind": "goods",
        "sku": "WASH-STD",
        "category": "car_wash",
        "quantity": 1,
        "unit_price_fen": 3000,
    }


# --- station staff ------------------------------------------------------------------------------------


def test_an_attendant_verifies_at_their_own_station_only(
    client: TestClient, staff: Staff, member: MakeMember, session: Session
) -> None:
    own, other = make_station(session), make_station(session)
    attendant = staff("attendant", station=own)
    voucher = give_coupon(session, member(), "WASH-FREE", utcnow())

    refused = client.post(
        STAFF_VERIFY, json={"code": voucher.code, "station": other.code}, headers=attendant.headers
    )
    assert refused.status_code == 403, refused.text
    assert coupon_now(session, voucher.id).status == "available"

    done = client.post(STAFF_VERIFY, json={"code": voucher.code}, headers=attendant.headers)
    assert done.status_code == 200, done.text
    assert done.json()["station"] == own.code
    assert coupon_now(session, voucher.id).used_by is not None


def test_head_office_staff_name_the_station_where_the_voucher_is_used(
    client: TestClient, staff: Staff, member: MakeMember, session: Session
) -> None:
    station = make_station(session)
    admin = staff("admin")
    voucher = give_coupon(session, member(), "WASH-FREE", utcnow())
    unnamed = client.post(STAFF_VERIFY, json={"code": voucher.code}, headers=admin.headers)
    assert unnamed.status_code == 400, unnamed.text
    named = client.post(
        STAFF_VERIFY, json={"code": voucher.code, "station": station.code}, headers=admin.headers
    )
    assert named.status_code == 200, named.text
    assert coupon_now(session, voucher.id).used_station == station.code


def test_roles_without_verification_cannot_verify(
    client: TestClient, staff: Staff, member: MakeMember, session: Session
) -> None:
    voucher = give_coupon(session, member(), "WASH-FREE", utcnow())
    response = client.post(
        STAFF_VERIFY, json={"code": voucher.code, "station": "S001"}, headers=staff("finance").headers
    )
    assert response.status_code == 403
    assert coupon_now(session, voucher.id).status == "available"


# --- partners -----------------------------------------------------------------------------------------------


def test_a_partner_verifies_its_own_coupon_and_the_settlement_is_recorded(
    client: TestClient, member: MakeMember, session: Session
) -> None:
    coupon = give_coupon(session, member(), partner_template(session), utcnow())
    headers = partner_login(client, session, "WASHCO")

    response = client.post(PARTNER_VERIFY, json={"code": coupon.code}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["settlement_fen"] == 2500
    assert response.json()["station"] is None
    used = coupon_now(session, coupon.id)
    assert (used.status, used.discount_fen) == ("used", 4000)  # its face value; settlement apart
    again = client.post(PARTNER_VERIFY, json={"code": coupon.code}, headers=headers)
    assert error(again)["code"] == "coupon_already_used"


def test_a_partner_cannot_verify_another_partners_or_the_chains_coupons(
    client: TestClient, member: MakeMember, session: Session
) -> None:
    owner = member()
    theirs = give_coupon(session, owner, partner_template(session), utcnow())
    chains = give_coupon(session, owner, "WASH-FREE", utcnow())
    headers = partner_login(client, session, "OILCHANGE")
    for coupon in (theirs, chains):
        response = client.post(PARTNER_VERIFY, json={"code": coupon.code}, headers=headers)
        assert response.status_code == 409, response.text
        assert error(response)["code"] == "coupon_not_verifiable"
        assert error(response)["details"]["reason"] == "not_partner"
        assert coupon_now(session, coupon.id).status == "available"


def test_a_partner_cannot_use_up_its_discount_meant_for_the_pump(
    client: TestClient, member: MakeMember, session: Session
) -> None:
    funded = make_template(
        session, terms={"amount_off_fen": 800}, funder="partner", partner_code="WASHCO", settlement_fen=600
    )
    coupon = give_coupon(session, member(), funded.code, utcnow())
    response = client.post(
        PARTNER_VERIFY, json={"code": coupon.code}, headers=partner_login(client, session, "WASHCO")
    )
    assert response.status_code == 409, response.text
    assert error(response)["details"]["reason"] == "needs_sale"
    assert coupon_now(session, coupon.id).status == "available"


def test_station_staff_cannot_verify_a_partner_coupon(
    client: TestClient, staff: Staff, terminal: Terminal, member: MakeMember, session: Session
) -> None:
    coupon = give_coupon(session, member(), partner_template(session), utcnow())
    attendant = staff("attendant")
    by_staff = client.post(STAFF_VERIFY, json={"code": coupon.code}, headers=attendant.headers)
    by_console = terminal.post(DEVICE_VERIFY, {"code": coupon.code})
    for response in (by_staff, by_console):
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "partner_account_required"
    assert coupon_now(session, coupon.id).status == "available"


def test_staff_with_partner_role_but_no_partner_are_refused(
    client: TestClient, staff: Staff, member: MakeMember, session: Session
) -> None:
    coupon = give_coupon(session, member(), partner_template(session), utcnow())
    response = client.post(PARTNER_VERIFY, json={"code": coupon.code}, headers=staff("partner").headers)
    assert response.status_code == 403, response.text
    assert error(response)["code"] == "partner_account_required"


# --- reports ----------------------------------------------------------------------------------------------


def rows_by_key(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {row["key"]: row for row in response.json()}


def test_the_funnel_follows_coupons_issued_in_the_period_to_their_claim_and_use(
    client: TestClient, staff: Staff, terminal: Terminal, member: MakeMember, session: Session
) -> None:
    buyer, other = member(), member()
    now = utcnow()
    campaign = make_template(session, terms={"amount_off_fen": 1000})
    printed = make_template(session, terms={"amount_off_fen": 500})
    used = give_coupon(session, buyer, campaign.code, now)
    give_coupon(session, other, campaign.code, now)
    give_coupon(session, other, campaign.code, now - timedelta(days=40))  # issued before the period
    batch = issuance.create_batch(session, SYSTEM, printed.code, BatchCreate(size=3))
    session.flush()
    codes = session.scalars(
        Coupon.__table__.select().with_only_columns(Coupon.code).where(Coupon.batch_id == batch.id)
    ).all()
    claimed = issuance.redeem_code(session, buyer.id, codes[0], now)
    session.flush()
    body = terminal.basket(fuel("92", "20.00"), member=buyer)
    body["redeem"]["coupons"] = [str(used.id), str(claimed.id)]
    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()

    today = chain_date(now)
    period = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}
    reader = staff("marketing").headers

    by_template = rows_by_key(client.get(FUNNEL, params={"by": "template", **period}, headers=reader))
    assert by_template[campaign.code] == {
        "key": campaign.code,
        "issued": 2,
        "claimed": 2,
        "used": 1,
        "discount_fen": 1000,
    }
    assert by_template[printed.code] == {
        "key": printed.code,
        "issued": 3,
        "claimed": 1,
        "used": 1,
        "discount_fen": 500,
    }

    by_batch = rows_by_key(client.get(FUNNEL, params={"by": "batch", **period}, headers=reader))
    assert by_batch[str(batch.id)] == {
        "key": str(batch.id),
        "issued": 3,
        "claimed": 1,
        "used": 1,
        "discount_fen": 500,
    }
    assert by_batch["-"]["issued"] == 2

    by_channel = rows_by_key(client.get(FUNNEL, params={"by": "channel", **period}, headers=reader))
    assert by_channel["campaign"] == {
        "key": "campaign",
        "issued": 2,
        "claimed": 2,
        "used": 1,
        "discount_fen": 1000,
    }
    assert by_channel["batch"] == {"key": "batch", "issued": 3, "claimed": 1, "used": 1, "discount_fen": 500}

    earlier = {
        "date_from": (today - timedelta(days=41)).isoformat(),
        "date_to": (today - timedelta(days=39)).isoformat(),
    }
    old = rows_by_key(client.get(FUNNEL, params={"by": "template", **earlier}, headers=reader))
    assert old[campaign.code]["issued"] == 1
    assert old[campaign.code]["used"] == 0

    backwards = client.get(
        FUNNEL, params={"date_from": today.isoformat(), "date_to": earlier["date_to"]}, headers=reader
    )
    assert backwards.status_code == 400


def test_a_refunded_sale_takes_its_coupon_out_of_the_funnel(
    client: TestClient, staff: Staff, terminal: Terminal, member: MakeMember, session: Session
) -> None:
    buyer = member()
    template = make_template(session)
    coupon = give_coupon(session, buyer, template.code, utcnow())
    body = terminal.basket(fuel("92", "20.00"), member=buyer)
    body["redeem"]["coupons"] = [str(coupon.id)]
    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    assert terminal.refund(sold.json()["id"]).status_code == 200
    rows = rows_by_key(client.get(FUNNEL, params={"by": "template"}, headers=staff("finance").headers))
    assert rows[template.code]["used"] == 0
    assert rows[template.code]["discount_fen"] == 0


def test_funding_shows_what_each_funder_owes_and_partner_settlement(
    client: TestClient, staff: Staff, terminal: Terminal, member: MakeMember, session: Session
) -> None:
    buyer = member()
    now = utcnow()
    hq = give_coupon(session, buyer, make_template(session, terms={"amount_off_fen": 1000}).code, now)
    by_station = give_coupon(
        session, buyer, make_template(session, terms={"amount_off_fen": 700}, funder="station").code, now
    )
    body = terminal.basket(fuel("92", "20.00"), member=buyer)
    body["redeem"]["coupons"] = [str(hq.id), str(by_station.id)]
    assert terminal.commit(body).status_code == 201
    wash = give_coupon(session, buyer, "WASH-FREE", now)
    assert terminal.post(DEVICE_VERIFY, {"code": wash.code}).status_code == 200
    partner = give_coupon(session, buyer, partner_template(session), now)
    give_coupon(session, buyer, partner_template(session), now)  # held, not used: owes nothing
    assert (
        client.post(
            PARTNER_VERIFY, json={"code": partner.code}, headers=partner_login(client, session, "WASHCO")
        ).status_code
        == 200
    )

    fuel_partner = give_coupon(
        session,
        buyer,
        make_template(
            session,
            terms={"amount_off_fen": 800},
            funder="partner",
            partner_code="FUELCO",
            settlement_fen=600,
        ).code,
        now,
    )
    body = terminal.basket(fuel("92", "10.00"), member=buyer)
    body["redeem"]["coupons"] = [str(fuel_partner.id)]
    assert terminal.commit(body).status_code == 201

    response = client.get(FUNDING, headers=staff("finance").headers)
    assert response.status_code == 200, response.text
    rows = {(row["funder"], row["partner_code"]): row for row in response.json()}
    assert rows[("hq", None)] == {
        "funder": "hq",
        "partner_code": None,
        "station": None,
        "used": 2,
        "discount_fen": 1000 + 4000,
        "settlement_fen": 0,
    }
    assert rows[("station", None)] == {
        "funder": "station",
        "partner_code": None,
        "station": terminal.station,
        "used": 1,
        "discount_fen": 700,
        "settlement_fen": 0,
    }
    assert rows[("partner", "WASHCO")] == {
        "funder": "partner",
        "partner_code": "WASHCO",
        "station": None,
        "used": 1,
        "discount_fen": 4000,
        "settlement_fen": 2500,
    }
    # a partner's coupon that discounted a sale was not verified by the partner: nothing to settle
    assert rows[("partner", "FUELCO")] == {
        "funder": "partner",
        "partner_code": "FUELCO",
        "station": None,
        "used": 1,
        "discount_fen": 800,
        "settlement_fen": 0,
    }


def test_reports_are_for_staff_who_read_coupons(client: TestClient, staff: Staff) -> None:
    for path in (FUNNEL, FUNDING):
        assert client.get(path, headers=staff("attendant").headers).status_code == 403
        assert client.get(path).status_code == 401


def test_report_days_are_the_chains_days(
    client: TestClient, staff: Staff, member: MakeMember, session: Session
) -> None:
    template = make_template(session)
    # 17:30 UTC on the 10th is 01:30 on the 11th in Shanghai
    late = datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    give_coupon(session, member(), template.code, late)
    reader = staff("finance").headers

    def issued_on(day: str) -> int:
        rows = rows_by_key(client.get(FUNNEL, params={"date_from": day, "date_to": day}, headers=reader))
        return int(rows[template.code]["issued"]) if template.code in rows else 0

    assert issued_on("2026-03-10") == 0
    assert issued_on("2026-03-11") == 1


@pytest.mark.committed
def test_a_voucher_scanned_at_the_console_while_tills_use_it_is_used_once(
    committed_database: Database, test_settings: Settings
) -> None:
    racers = 6
    app = create_app(test_settings, database=committed_database)
    with committed_database.transaction() as session:
        station = priced_station(session, code=unique("S"))
        issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name="till")
        credential = IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station)
        owner = make_member(session, app.state.pii)
        voucher = give_coupon(session, owner, "WASH-FREE", utcnow())
        member_id, voucher_id, code = owner.id, voucher.id, voucher.code

    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(racers)]
    tills = [Terminal(client, credential) for client in clients]
    start = Barrier(racers)

    def use(index: int) -> Any:
        till = tills[index]
        if index % 2:
            start.wait(timeout=30)
            return till.post(DEVICE_VERIFY, {"code": code})
        body = till.basket(_wash_line())
        body["member"] = {"type": "member_id", "value": str(member_id)}
        body["redeem"]["coupons"] = [str(voucher_id)]
        sale = {**body, "pos_txn_id": till.next_txn(), "payments": []}
        start.wait(timeout=30)
        return till.post("/api/v1/pos/transactions", sale, key=str(uuid.uuid4()))

    try:
        with ThreadPoolExecutor(max_workers=racers) as pool:
            responses = list(pool.map(use, range(racers)))
    finally:
        for client in clients:
            client.close()

    succeeded = [r for r in responses if r.status_code in (200, 201)]
    assert len(succeeded) == 1, [r.json() for r in responses]
    assert {error(r)["code"] for r in responses if r not in succeeded} == {"coupon_already_used"}
    with committed_database.transaction(write=False) as session:
        used = session.get_one(Coupon, voucher_id)
        assert used.status == "used"
        sales = session.scalar(select(func.count()).select_from(Sale).where(Sale.member_id == member_id))
        assert sales == (1 if succeeded[0].status_code == 201 else 0)
        assert (used.used_sale_id is not None) == (sales == 1)


def test_a_partners_voucher_is_not_used_at_the_chains_car_wash(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    buyer = member()
    voucher = give_coupon(session, buyer, partner_template(session), utcnow())

    identified = terminal.post(
        "/api/v1/pos/identify",
        {"station": terminal.station, "identifier": {"type": "card_no", "value": buyer.card_no}},
    )
    assert identified.status_code == 200, identified.text
    assert str(voucher.id) not in {c["id"] for c in identified.json()["coupons"]}

    body = terminal.basket(fuel("92", "10.00"), _wash_line(), member=buyer)
    body["redeem"]["coupons"] = "auto"
    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.text
    assert all(d["source"] != "coupon" for d in quoted.json()["discounts"])

    body["redeem"]["coupons"] = [str(voucher.id)]
    named = terminal.quote(body)
    assert named.status_code == 409
    assert error(named)["code"] == "coupon_not_applicable"
    assert error(named)["details"]["reason"] == "partner_only"
    assert coupon_now(session, voucher.id).status == "available"
