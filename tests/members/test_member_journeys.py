"""Members through the API: registration and its refusals, SMS login and lockout, member tokens,
one member never reaching another, plates and transfers, identification at the pump."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.audit.models import AuditEntry
from forecourt.members.cards import is_valid_card_no
from forecourt.members.models import Member, MemberPlate, PlateTransfer, SmsCode
from forecourt.members.plates import mask_plate
from forecourt.members.sms import inbox
from tests.devices.support import issue
from tests.members.support import (
    LOGIN,
    MEMBERS,
    REFRESH,
    SMS_CODES,
    earn_points,
    last_code,
    make_member,
    member_login,
    spend_points,
    unique_phone,
    unique_plate,
)


def _error(response):
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["code"]


def _members(session) -> int:
    return session.scalar(select(func.count()).select_from(Member))


# --- staff registration ------------------------------------------------------------------------


def test_staff_register_a_member_with_a_card_number_and_masked_personal_data(client, staff, session):
    phone = unique_phone()
    plate = unique_plate()
    response = client.post(
        MEMBERS,
        json={
            "phone": f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}",
            "name": "张三",
            "plates": [plate.lower()],
        },
        headers=staff("attendant").headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert is_valid_card_no(body["card_no"])
    assert body["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert body["name"] == "张*"
    assert body["masked"] is True
    assert [p["plate"] for p in body["plates"]] == [plate]
    assert body["tier"] == {"code": "regular", "name": "普通"}
    assert body["points"] == {"available": 0, "pending": 0}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.register")).one()
    assert phone not in str(entry.after)
    assert "张三" not in str(entry.after)


@pytest.mark.parametrize("phone", ["010 6552 9988", "12345", "+1 650 253 0000", "1380013800a", ""])
def test_an_invalid_phone_is_refused_and_nothing_is_registered(client, staff, session, phone):
    before = _members(session)
    response = client.post(MEMBERS, json={"phone": phone}, headers=staff("service").headers)
    assert response.status_code == 400
    assert _error(response) == "invalid_phone"
    assert _members(session) == before


@pytest.mark.parametrize("plate", ["云A1234", "港A12345", "云AI2345", "云A1234港", "ABCDEFG"])
def test_an_invalid_plate_is_refused_and_nothing_is_registered(client, staff, session, plate):
    before = _members(session)
    response = client.post(
        MEMBERS, json={"phone": unique_phone(), "plates": [plate]}, headers=staff("service").headers
    )
    assert response.status_code == 400
    assert _error(response) == "invalid_plate"
    assert _members(session) == before


def test_the_same_phone_written_differently_is_one_member(client, staff):
    phone = unique_phone()
    headers = staff("service").headers
    assert client.post(MEMBERS, json={"phone": phone}, headers=headers).status_code == 201
    again = client.post(MEMBERS, json={"phone": f"+86{phone}"}, headers=headers)
    assert again.status_code == 409
    assert _error(again) == "phone_taken"


def test_registering_with_a_plate_someone_holds_is_plate_taken_and_changes_nothing(
    client, staff, session, pii
):
    plate = unique_plate()
    make_member(session, pii, plates=(plate,))
    before = _members(session)
    response = client.post(
        MEMBERS, json={"phone": unique_phone(), "plates": [plate]}, headers=staff("service").headers
    )
    assert response.status_code == 409
    assert _error(response) == "plate_taken"
    assert _members(session) == before


def test_an_unknown_referral_code_and_a_future_birthday_are_refused(client, staff):
    headers = staff("service").headers
    response = client.post(
        MEMBERS, json={"phone": unique_phone(), "referral_code": "NOPE2345"}, headers=headers
    )
    assert _error(response) == "invalid_referral_code"
    future = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    response = client.post(MEMBERS, json={"phone": unique_phone(), "birthday": future}, headers=headers)
    assert _error(response) == "invalid_profile"


def test_roles_without_members_write_cannot_register(client, staff):
    for role in ("marketing", "finance", "partner"):
        response = client.post(MEMBERS, json={"phone": unique_phone()}, headers=staff(role).headers)
        assert response.status_code == 403, role


# --- SMS login ---------------------------------------------------------------------------------


def test_a_new_phone_logs_in_by_sms_code_and_is_registered(client, session, pii):
    login = member_login(client, session, pii)
    me = client.get("/api/v1/me", headers=login.headers)
    assert me.status_code == 200
    assert me.json()["source"] == "sms"
    assert me.json()["phone"] == f"+86{login.phone}"


def test_a_second_code_within_a_minute_is_refused_with_retry_after(client):
    phone = unique_phone()
    assert client.post(SMS_CODES, json={"phone": phone}).status_code == 202
    again = client.post(SMS_CODES, json={"phone": phone})
    assert again.status_code == 429
    assert _error(again) == "sms_cooldown"
    assert int(again.headers["Retry-After"]) >= 1


def test_a_wrong_code_counts_and_five_wrong_codes_lock_the_code(client, session, pii):
    phone = unique_phone()
    client.post(SMS_CODES, json={"phone": phone})
    code = last_code(session, pii, phone)
    wrong = "000000" if code != "000000" else "111111"
    answers = [_error(client.post(LOGIN, json={"phone": phone, "code": wrong})) for _ in range(5)]
    assert answers == ["sms_code_invalid"] * 4 + ["sms_code_locked"]
    stored = session.scalars(
        select(SmsCode).where(SmsCode.phone_index == pii.phone_index(f"+86{phone}"))
    ).one()
    session.refresh(stored)
    assert stored.attempts == 5
    right = client.post(LOGIN, json={"phone": phone, "code": code})
    assert right.status_code == 401
    assert _error(right) == "sms_code_locked"


def test_an_expired_code_is_refused_and_a_code_works_once(client, session, pii):
    phone = unique_phone()
    client.post(SMS_CODES, json={"phone": phone})
    code = last_code(session, pii, phone)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5, seconds=1), tick=False):
        assert _error(client.post(LOGIN, json={"phone": phone, "code": code})) == "sms_code_invalid"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
        client.post(SMS_CODES, json={"phone": phone})
        fresh = last_code(session, pii, phone)
        assert client.post(LOGIN, json={"phone": phone, "code": fresh}).status_code == 200
        assert _error(client.post(LOGIN, json={"phone": phone, "code": fresh})) == "sms_code_invalid"


@pytest.fixture
def sms_clients(database, test_settings):
    """``sms_clients(per_phone, per_ip)`` → a function giving a client that calls from a given IP, of
    an app with those SMS limits."""
    with ExitStack() as stack:

        def build(per_phone: str, per_ip: str):
            settings = test_settings.model_copy(
                update={"sms_limit_per_phone": per_phone, "sms_limit_per_ip": per_ip}
            )
            app = create_app(settings, database=database)

            def calling_from(ip: str) -> TestClient:
                client = TestClient(app, raise_server_exceptions=False, client=(ip, 40000))
                return stack.enter_context(client)

            return calling_from

        yield build


def test_a_phone_gets_five_codes_an_hour_and_the_sixth_waits_until_the_first_is_an_hour_old(
    sms_clients, session, pii
):
    client = sms_clients(per_phone="5 per hour", per_ip="100 per hour")("198.51.100.7")
    phone = unique_phone()
    start = datetime.now(UTC)
    for send in range(5):
        with time_machine.travel(start + timedelta(seconds=61 * send), tick=False):
            assert client.post(SMS_CODES, json={"phone": phone}).status_code == 202, send
    with time_machine.travel(start + timedelta(seconds=61 * 5), tick=False):
        refused = client.post(SMS_CODES, json={"phone": phone})
        another_phone = client.post(SMS_CODES, json={"phone": unique_phone()})
    assert refused.status_code == 429
    assert _error(refused) == "sms_rate_limited"
    assert abs(int(refused.headers["Retry-After"]) - (3600 - 61 * 5)) <= 1
    assert another_phone.status_code == 202
    assert len(inbox(session, pii, f"+86{phone}")) == 5
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert client.post(SMS_CODES, json={"phone": phone}).status_code == 202
    assert len(inbox(session, pii, f"+86{phone}")) == 6


def test_one_ip_asking_codes_for_many_phones_is_refused_past_its_limit_and_others_are_not(
    sms_clients, session, pii
):
    calling_from = sms_clients(per_phone="1 per hour", per_ip="3 per hour")
    crowd, elsewhere = calling_from("198.51.100.7"), calling_from("203.0.113.9")
    for _ in range(3):
        assert crowd.post(SMS_CODES, json={"phone": unique_phone()}).status_code == 202
    phone = unique_phone()
    refused = crowd.post(SMS_CODES, json={"phone": phone})
    assert refused.status_code == 429
    assert _error(refused) == "sms_rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert inbox(session, pii, f"+86{phone}") == []
    # The refused request used none of the phone's allowance (1 per hour): from another IP it gets its code.
    assert elsewhere.post(SMS_CODES, json={"phone": phone}).status_code == 202
    assert len(inbox(session, pii, f"+86{phone}")) == 1


def test_refresh_rotates_and_a_reused_refresh_token_ends_every_session(client, session, pii):
    login = member_login(client, session, pii)
    rotated = client.post(REFRESH, json={"refresh_token": login.refresh_token})
    assert rotated.status_code == 200
    new_access = rotated.json()["access_token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 200
    reused = client.post(REFRESH, json={"refresh_token": login.refresh_token})
    assert _error(reused) == "member_token_invalid"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 401


def test_an_expired_member_token_is_refused(client, session, pii):
    login = member_login(client, session, pii)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=121), tick=False):
        response = client.get("/api/v1/me", headers=login.headers)
    assert response.status_code == 401
    assert _error(response) == "member_token_invalid"


# --- one member never reaches another ----------------------------------------------------------


def test_every_me_route_acts_on_the_token_member_alone(client, app, session, pii, staff):
    alice = member_login(client, session, pii)
    bob = member_login(client, session, pii)
    alice_plate = unique_plate()
    assert (
        client.post("/api/v1/me/plates", json={"plate": alice_plate}, headers=alice.headers).status_code
        == 201
    )
    vehicle = client.post("/api/v1/me/vehicles", json={"model": "大众 朗逸"}, headers=alice.headers).json()
    client.patch("/api/v1/me", json={"name": "欧阳娜娜"}, headers=alice.headers)
    signer = app.state.ledger_signer
    postings = [
        earn_points(session, signer, alice.member_id, 1737),
        spend_points(session, signer, alice.member_id, 400),
    ]
    promoted = client.put(
        f"/api/v1/members/{alice.member_id}/tier",
        json={"tier": "gold", "note": "车队大客户"},
        headers=staff("service").headers,
    )
    assert promoted.status_code == 200, promoted.text

    mine = {
        "points": client.get("/api/v1/me/points", headers=alice.headers).json(),
        "ledger": client.get("/api/v1/me/ledger", headers=alice.headers).json()["items"],
        "tier": client.get("/api/v1/me/tier", headers=alice.headers).json(),
    }
    assert mine["points"]["available"] == 1337
    assert sorted(line["posting_id"] for line in mine["ledger"]) == sorted(postings)
    assert [(c["from_code"], c["to_code"]) for c in mine["tier"]["history"]] == [("regular", "gold")]

    secrets = (alice.phone, alice_plate, "欧阳娜娜", "车队大客户", alice.member_id, *postings)
    paths = [path for path in app.openapi()["paths"] if path.startswith("/api/v1/me")]
    read = [path for path in paths if "get" in app.openapi()["paths"][path]]
    assert {"/api/v1/me/points", "/api/v1/me/ledger", "/api/v1/me/tier", "/api/v1/me/export"} <= set(read)
    for path in read:
        text = client.get(path, headers=bob.headers).text
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, path
    points = client.get("/api/v1/me/points", headers=bob.headers).json()
    assert (points["available"], points["pending"], points["lots"]) == (0, 0, [])
    assert client.get("/api/v1/me/ledger", headers=bob.headers).json()["items"] == []
    tier = client.get("/api/v1/me/tier", headers=bob.headers).json()
    assert (tier["tier"]["code"], tier["history"]) == ("regular", [])
    export = client.get("/api/v1/me/export", headers=bob.headers).json()
    assert (export["points"]["available"], export["points"]["postings"]) == (0, [])
    assert export["tier"]["history"] == []

    assert _error(
        client.patch(f"/api/v1/me/vehicles/{vehicle['id']}", json={"model": "x"}, headers=bob.headers)
    ) == ("vehicle_not_found")
    assert (
        _error(client.delete(f"/api/v1/me/vehicles/{vehicle['id']}", headers=bob.headers))
        == "vehicle_not_found"
    )
    assert _error(client.delete(f"/api/v1/me/plates/{alice_plate}", headers=bob.headers)) == "plate_not_bound"
    mine_after = client.get("/api/v1/me/vehicles", headers=alice.headers).json()
    assert [v["model"] for v in mine_after] == ["大众 朗逸"]
    assert client.get("/api/v1/me", headers=staff("admin").headers).status_code == 401
    assert client.get(MEMBERS, headers=alice.headers).status_code == 401


# --- plates and transfers ----------------------------------------------------------------------


def test_a_plate_held_by_another_member_opens_a_transfer_that_staff_approve(client, session, pii, staff):
    plate = unique_plate()
    holder = make_member(session, pii, plates=(plate,))
    requester = member_login(client, session, pii)
    refused = client.post("/api/v1/me/plates", json={"plate": plate}, headers=requester.headers)
    assert refused.status_code == 409
    assert _error(refused) == "plate_taken"
    transfer_id = refused.json()["error"]["details"]["transfer_id"]
    again = client.post("/api/v1/me/plates", json={"plate": plate}, headers=requester.headers)
    assert again.json()["error"]["details"]["transfer_id"] == transfer_id
    assert session.scalar(select(func.count()).select_from(PlateTransfer)) == 1
    [requested] = session.scalars(select(AuditEntry).where(AuditEntry.action == "plate_transfer.request"))
    assert requested.entity_id == transfer_id
    assert requested.actor_id == requester.member_id
    assert requested.after == {
        "plate": mask_plate(plate),
        "from": str(holder.id),
        "to": requester.member_id,
    }

    manager = staff("service")
    listed = client.get("/api/v1/plate-transfers", headers=manager.headers).json()["items"]
    assert [t["id"] for t in listed] == [transfer_id]
    approved = client.post(f"/api/v1/plate-transfers/{transfer_id}/approve", json={}, headers=manager.headers)
    assert approved.json()["status"] == "approved"
    bindings = session.scalars(
        select(MemberPlate).where(MemberPlate.plate == plate).execution_options(populate_existing=True)
    ).all()
    active = [str(row.member_id) for row in bindings if row.released_at is None]
    released = [row.member_id for row in bindings if row.released_at is not None]
    assert active == [requester.member_id]
    assert released == [holder.id]
    decided_twice = client.post(
        f"/api/v1/plate-transfers/{transfer_id}/reject", json={}, headers=manager.headers
    )
    assert _error(decided_twice) == "plate_transfer_closed"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "plate_transfer.approve")).one()
    assert plate not in str(audit.after)
    assert client.get("/api/v1/plate-transfers", headers=staff("attendant").headers).status_code == 403


# --- identification at the pump ----------------------------------------------------------------


def _identify(client, credential, kind, value, station=None):
    body = {"station": station or credential.station.code, "identifier": {"type": kind, "value": value}}
    raw = json.dumps(body).encode()
    headers = credential.headers("POST", "/api/v1/pos/identify", raw)
    return client.post(
        "/api/v1/pos/identify", content=raw, headers={**headers, "content-type": "application/json"}
    )


def test_the_pos_identifies_a_member_by_phone_plate_card_and_member_code(client, app, session, pii):
    credential = issue(session, app)
    login = member_login(client, session, pii)
    plate = unique_plate()
    client.post("/api/v1/me/plates", json={"plate": plate}, headers=login.headers)
    card = client.get("/api/v1/me", headers=login.headers).json()["card_no"]
    code = client.get("/api/v1/me/member-code", headers=login.headers).json()
    assert code["qr_svg"].lstrip().startswith("<svg")
    for kind, value in (
        ("phone", f"+86 {login.phone}"),
        ("plate", plate.replace("云A", "云a·")),
        ("card_no", f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}"),
        ("member_code", code["code"]),
    ):
        response = _identify(client, credential, kind, value)
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["member"]["id"] == login.member_id
        assert response.json()["coupons"] == []


def test_the_pos_refuses_stale_forged_and_unknown_identifiers(client, app, session, pii):
    credential = issue(session, app)
    login = member_login(client, session, pii)
    code = client.get("/api/v1/me/member-code", headers=login.headers).json()["code"]
    forged = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert _error(_identify(client, credential, "member_code", forged)) == "invalid_member_code"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
        stale = _identify(client, credential, "member_code", code)
    assert stale.status_code == 401
    assert _error(stale) == "invalid_member_code"
    assert _error(_identify(client, credential, "phone", unique_phone())) == "member_not_found"
    assert _error(_identify(client, credential, "card_no", "8860000000000001")) == "invalid_card_no"
    assert _error(_identify(client, credential, "plate", "云A12")) == "invalid_plate"
    other = issue(session, app)
    mismatch = _identify(client, credential, "phone", login.phone, station=other.station.code)
    assert _error(mismatch) == "device_station_mismatch"
