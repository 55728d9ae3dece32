"""Profile and consent, vehicles, tags (manual and computed) and staff search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from forecourt.db.outbox import OutboxEvent
from forecourt.jobs.registry import JobContext, all_jobs
from forecourt.members.models import ConsentEvent
from tests.fixtures.builders import make_station
from tests.members.support import MEMBERS, make_member, member_login, unique_phone, unique_plate


def _code(response):
    return response.json()["error"]["code"]


def test_profile_completion_consent_log_and_the_completed_event(client, session, pii):
    station = make_station(session)
    login = member_login(client, session, pii)
    me = client.get("/api/v1/me", headers=login.headers).json()
    assert me["profile_completion"] == 0
    for field, value in (
        ("name", "李雷"),
        ("gender", "male"),
        ("birthday", "1990-05-06"),
        ("occupation", "教师"),
    ):
        client.patch("/api/v1/me", json={field: value}, headers=login.headers)
    client.patch("/api/v1/me", json={"home_station": station.code}, headers=login.headers)
    client.post("/api/v1/me/plates", json={"plate": unique_plate()}, headers=login.headers)
    assert client.get("/api/v1/me", headers=login.headers).json()["profile_completion"] == 85
    client.post(
        "/api/v1/me/vehicles", json={"model": "丰田 卡罗拉", "fuel_preference": "92"}, headers=login.headers
    )
    assert client.get("/api/v1/me", headers=login.headers).json()["profile_completion"] == 100
    client.patch("/api/v1/me", json={"occupation": None}, headers=login.headers)
    client.patch("/api/v1/me", json={"occupation": "教师"}, headers=login.headers)
    completed = session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "member.profile_completed")
    ).all()
    assert len(completed) == 1

    for consent in (True, True, False):
        client.patch("/api/v1/me", json={"marketing_consent": consent}, headers=login.headers)
    log = session.scalars(select(ConsentEvent.granted).order_by(ConsentEvent.occurred_at)).all()
    assert list(log) == [True, False]
    assert (
        _code(client.patch("/api/v1/me", json={"gender": "x"}, headers=login.headers)) == "validation_error"
    )
    assert _code(client.patch("/api/v1/me", json={"home_station": "NOPE"}, headers=login.headers)) == (
        "station_not_found"
    )


def test_vehicles_are_checked(client, session, pii):
    login = member_login(client, session, pii)
    url = "/api/v1/me/vehicles"
    assert _code(client.post(url, json={"displacement_cc": 0}, headers=login.headers)) == "invalid_profile"
    assert _code(client.post(url, json={"yearly_mileage_km": -1}, headers=login.headers)) == "invalid_profile"
    assert _code(client.post(url, json={"fuel_preference": "93"}, headers=login.headers)) == "unknown_grade"
    assert _code(client.post(url, json={"plate": "云A1"}, headers=login.headers)) == "invalid_plate"
    made = client.post(
        url,
        json={"model": "哈弗 H6", "displacement_cc": 1497, "fuel_preference": "95"},
        headers=login.headers,
    )
    assert made.status_code == 201
    changed = client.patch(
        f"{url}/{made.json()['id']}", json={"yearly_mileage_km": 20000}, headers=login.headers
    )
    assert changed.json()["yearly_mileage_km"] == 20000
    assert client.delete(f"{url}/{made.json()['id']}", headers=login.headers).status_code == 204
    assert client.get(url, headers=login.headers).json() == []


def test_manual_tags_and_the_compute_tags_job(client, session, pii, staff, database, test_settings):
    marketing = staff("marketing")
    assert (
        client.post(
            "/api/v1/tags", json={"code": "Bad Code", "name": "x"}, headers=marketing.headers
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/tags", json={"code": "new_member", "name": "x"}, headers=marketing.headers
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/tags", json={"code": "fleet_lead", "name": "车队潜客"}, headers=marketing.headers
        ).status_code
        == 201
    )
    assert _code(
        client.post("/api/v1/tags", json={"code": "fleet_lead", "name": "x"}, headers=marketing.headers)
    ) == ("tag_code_taken")
    member = make_member(session, pii)
    url = f"/api/v1/members/{member.id}/tags"
    assert client.post(url, json={"tag": "fleet_lead"}, headers=marketing.headers).status_code == 200
    assert client.post(url, json={"tag": "fleet_lead"}, headers=marketing.headers).status_code == 200
    found = client.get(MEMBERS, params={"tag": "fleet_lead"}, headers=marketing.headers).json()["items"]
    assert [row["id"] for row in found] == [str(member.id)]

    job = {j.name: j for j in all_jobs()}["compute-tags"]
    job.run(JobContext(database=database, settings=test_settings, at=datetime.now(UTC)))
    tagged = client.get(MEMBERS, params={"tag": "new_member"}, headers=marketing.headers).json()["items"]
    assert str(member.id) in [row["id"] for row in tagged]
    assert _code(client.post(url, json={"tag": "new_member"}, headers=marketing.headers)) == "invalid_tag"
    job.run(JobContext(database=database, settings=test_settings, at=datetime.now(UTC) + timedelta(days=31)))
    later = client.get(MEMBERS, params={"tag": "new_member"}, headers=marketing.headers).json()["items"]
    assert str(member.id) not in [row["id"] for row in later]


def test_staff_search_by_phone_plate_card_and_name_masked_and_paginated(client, session, pii, staff):
    headers = staff("finance").headers
    phone, plate = unique_phone(), unique_plate()
    target = make_member(session, pii, phone=phone, name="韩梅梅", plates=(plate,))
    for query in (
        {"phone": f"+86 {phone}"},
        {"plate": plate.replace("云A", "云a ")},
        {"card_no": target.card_no},
        {"name": "韩梅梅"},
        {"name": "韩梅梅", "plate": plate},
    ):
        items = client.get(MEMBERS, params=query, headers=headers).json()["items"]
        assert [row["id"] for row in items] == [str(target.id)], query
        assert items[0]["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert (
        client.get(MEMBERS, params={"name": "韩梅梅", "plate": unique_plate()}, headers=headers).json()[
            "items"
        ]
        == []
    )

    made = {str(make_member(session, pii, name="翻页").id) for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"name": "翻页", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(MEMBERS, params=params, headers=headers).json()
        seen += [row["id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert _code(client.get(MEMBERS, params={"cursor": "garbage"}, headers=headers)) == "invalid_cursor"
    assert client.get(MEMBERS, headers=staff("partner").headers).status_code == 403
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) >= 0
