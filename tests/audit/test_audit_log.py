"""Every staff write records who, when, what, before/after and the request id, in the same transaction
(SPEC §3 Audit); admins search the trail at GET /api/v1/audit."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import pytest
import time_machine
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.audit.models import AuditEntry
from forecourt.auth import service as auth
from forecourt.auth.dependencies import require
from forecourt.auth.models import StaffUser
from forecourt.auth.permissions import Permission, Role
from forecourt.db.session import api_router, get_session
from forecourt.errors import Conflict
from forecourt.kit.actor import SYSTEM, Actor
from tests.fixtures.builders import PASSWORD, make_station

AUDIT = "/api/v1/audit"
STAFF = "/api/v1/staff"


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def _audit(client, admin, **params) -> dict:
    response = client.get(AUDIT, params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _rows(client, admin, **params) -> list[dict]:
    return _audit(client, admin, limit=500, **params)["items"]


def _create(client, admin, username: str, role: str = "finance", **extra):
    response = client.post(
        STAFF, json={"username": username, "password": PASSWORD, "role": role, **extra}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return response


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


# --- what a staff write records ---------------------------------------------------------------------------


def test_creating_a_staff_account_records_actor_action_entity_and_after(client, staff):
    admin = staff("admin")
    response = _create(client, admin, "audited.one", display_name="审计 一号")
    created = response.json()
    rows = _rows(client, admin, action="staff.create", entity_id=created["id"])
    assert len(rows) == 1
    row = rows[0]
    assert row["actor_kind"] == "staff"
    assert row["actor_id"] == str(admin.user.id)
    assert row["actor_label"] == admin.user.username
    assert row["actor_role"] == "admin"
    assert row["action"] == "staff.create"
    assert row["entity_type"] == "staff_user"
    assert row["entity_id"] == created["id"]
    assert row["before"] is None
    assert row["after"] == {
        "username": "audited.one",
        "display_name": "审计 一号",
        "role": "finance",
        "station_id": None,
        "is_active": True,
    }
    assert row["ip"] == "testclient"
    occurred_at = datetime.fromisoformat(row["occurred_at"])
    assert abs(occurred_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_audit_row_carries_the_request_id_of_the_response(client, staff):
    admin = staff("admin")
    response = _create(client, admin, "audited.two")
    request_id = response.headers["X-Request-ID"]
    rows = _rows(client, admin, entity_id=response.json()["id"])
    assert [row["request_id"] for row in rows] == [request_id]


def test_a_request_id_sent_by_the_caller_is_the_one_recorded(client, staff):
    admin = staff("admin")
    response = client.post(
        STAFF,
        json={"username": "traced", "password": PASSWORD, "role": "finance"},
        headers={**admin.headers, "X-Request-ID": "console-trace-0042"},
    )
    assert response.headers["X-Request-ID"] == "console-trace-0042"
    rows = _rows(client, admin, request_id="console-trace-0042")
    assert [(row["action"], row["entity_id"]) for row in rows] == [("staff.create", response.json()["id"])]


def test_changing_an_account_records_before_and_after(client, staff, session):
    admin = staff("admin")
    target = staff("attendant").user
    old_station_id = str(target.station_id)
    new_station = make_station(session)
    response = client.patch(
        f"{STAFF}/{target.id}",
        json={"role": "station_manager", "station": new_station.code, "display_name": "站长 王五"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    rows = _rows(client, admin, action="staff.update", entity_id=str(target.id))
    assert len(rows) == 1
    row = rows[0]
    assert row["before"] == {
        "username": target.username,
        "display_name": target.username,
        "role": "attendant",
        "station_id": old_station_id,
        "is_active": True,
    }
    assert row["after"] == {
        "username": target.username,
        "display_name": "站长 王五",
        "role": "station_manager",
        "station_id": str(new_station.id),
        "is_active": True,
    }
    assert row["request_id"] == response.headers["X-Request-ID"]


def test_disabling_an_account_is_audited(client, staff):
    admin = staff("admin")
    target = staff("finance").user
    client.patch(f"{STAFF}/{target.id}", json={"is_active": False}, headers=admin.headers)
    (row,) = _rows(client, admin, action="staff.update", entity_id=str(target.id))
    assert row["before"]["is_active"] is True
    assert row["after"]["is_active"] is False


def test_revoking_tokens_is_audited_with_the_count(client, staff):
    admin = staff("admin")
    target = staff("finance").user
    response = client.post(f"{STAFF}/{target.id}/revoke-tokens", headers=admin.headers)
    (row,) = _rows(client, admin, action="staff.revoke_tokens")
    assert row["entity_type"] == "staff_user"
    assert row["entity_id"] == str(target.id)
    assert row["after"] == {"revoked": 1}
    assert row["actor_id"] == str(admin.user.id)
    assert row["request_id"] == response.headers["X-Request-ID"]


def test_the_audit_row_is_stored_as_the_api_shows_it(client, staff, session):
    admin = staff("admin")
    response = _create(client, admin, "stored.row")
    stored = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == response.json()["id"])).one()
    assert stored.actor_id == str(admin.user.id)
    assert stored.request_id == response.headers["X-Request-ID"]
    assert stored.occurred_at.tzinfo is not None


def test_reads_and_logins_write_no_audit_rows(client, staff, session):
    admin = staff("admin")
    before = session.scalars(select(AuditEntry.id)).all()
    client.get(STAFF, headers=admin.headers)
    client.get(f"{STAFF}/{admin.user.id}", headers=admin.headers)
    client.get("/api/v1/auth/me", headers=admin.headers)
    client.post("/api/v1/auth/login", json={"username": admin.user.username, "password": PASSWORD})
    client.get(AUDIT, headers=admin.headers)
    assert session.scalars(select(AuditEntry.id)).all() == before


# --- secrets never reach the trail -----------------------------------------------------------------------


def test_passwords_never_appear_in_the_audit_trail(client, staff, session):
    admin = staff("admin")
    created = _create(client, admin, "secret.keeper", password="first-secret-pw").json()
    client.patch(f"{STAFF}/{created['id']}", json={"password": "second-secret-pw"}, headers=admin.headers)
    client.patch(
        f"{STAFF}/{created['id']}",
        json={"password": "third-secret-pw", "role": "marketing", "display_name": "x"},
        headers=admin.headers,
    )
    rows = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == created["id"])).all()
    assert [row.action for row in rows].count("staff.update") == 2
    hashes = session.scalars(
        select(StaffUser.password_hash).where(StaffUser.username == "secret.keeper")
    ).all()
    stored = json.dumps([[row.before, row.after] for row in rows], ensure_ascii=False)
    listed = client.get(AUDIT, params={"entity_id": created["id"]}, headers=admin.headers).text
    for text in (stored, listed):
        for secret in ("first-secret-pw", "second-secret-pw", "third-secret-pw", "$argon2", *hashes):
            assert secret not in text
        assert "password_hash" not in text


def test_a_password_change_is_audited_as_a_fact_without_the_password(client, staff):
    admin = staff("admin")
    target = staff("finance").user
    client.patch(f"{STAFF}/{target.id}", json={"password": "a-new-password-1"}, headers=admin.headers)
    (row,) = _rows(client, admin, action="staff.update", entity_id=str(target.id))
    assert row["after"]["password_changed"] is True
    assert "password_changed" not in (row["before"] or {})


# --- the audit row shares the write's transaction ----------------------------------------------------------


def test_a_refused_duplicate_username_leaves_no_audit_row(client, staff):
    admin = staff("admin")
    _create(client, admin, "only.once")
    response = client.post(
        STAFF, json={"username": "only.once", "password": PASSWORD, "role": "finance"}, headers=admin.headers
    )
    assert response.status_code == 409
    assert _rows(client, admin, request_id=response.headers["X-Request-ID"]) == []
    assert len(_rows(client, admin, action="staff.create", actor=str(admin.user.id))) == 1


def test_a_refused_change_leaves_no_audit_row(client, staff):
    admin = staff("admin")
    refusals = [
        ({"role": "finance"}, 403),  # one's own role
        ({"is_active": False}, 403),  # disabling oneself
        ({"password": "short"}, 400),
        ({"station": "S-NOWHERE"}, 404),
    ]
    for body, status in refusals:
        response = client.patch(f"{STAFF}/{admin.user.id}", json=body, headers=admin.headers)
        assert response.status_code == status, body
    assert _rows(client, admin, action="staff.update") == []


class _FailedAfterWriting(Conflict):
    code = "failed_after_writing"


@pytest.fixture
def client_with_failing_write(app):
    """A route that creates an account (and so its audit row) and then fails."""
    router = api_router(prefix="/test-only")

    @router.post("/create-then-fail")
    def create_then_fail(
        session: Annotated[Session, Depends(get_session)],
        actor: Annotated[Actor, require(Permission.STAFF_MANAGE)],
    ) -> None:
        auth.create_user(session, actor, username="doomed.account", password=PASSWORD, role="finance")
        session.flush()
        raise _FailedAfterWriting("the write failed after the audit row was written")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_write_that_fails_after_auditing_leaves_neither_the_change_nor_its_audit_row(
    client_with_failing_write, staff, session
):
    client = client_with_failing_write
    admin = staff("admin")
    response = client.post("/test-only/create-then-fail", headers=admin.headers)
    assert response.status_code == 409
    assert _error(response)["code"] == "failed_after_writing"
    assert session.scalars(select(StaffUser).where(StaffUser.username == "doomed.account")).first() is None
    assert (
        session.scalars(
            select(AuditEntry).where(AuditEntry.request_id == response.headers["X-Request-ID"])
        ).all()
        == []
    )
    assert _rows(client, admin, request_id=response.headers["X-Request-ID"]) == []


# --- searching the trail ---------------------------------------------------------------------------------


@pytest.fixture
def trail(client, staff):
    """Two admins at work: A creates X, B creates Y, A renames X, A revokes Y's tokens."""
    first = staff("admin")
    second = staff("admin")
    x = _create(client, first, "trail.x")
    y = _create(client, second, "trail.y")
    rename = client.patch(f"{STAFF}/{x.json()['id']}", json={"display_name": "X"}, headers=first.headers)
    revoke = client.post(f"{STAFF}/{y.json()['id']}/revoke-tokens", headers=first.headers)
    return {
        "first": first,
        "second": second,
        "x": x.json()["id"],
        "y": y.json()["id"],
        "requests": {
            "create_x": x.headers["X-Request-ID"],
            "create_y": y.headers["X-Request-ID"],
            "rename_x": rename.headers["X-Request-ID"],
            "revoke_y": revoke.headers["X-Request-ID"],
        },
    }


def _summary(rows: list[dict]) -> list[tuple[str, str | None]]:
    return [(row["action"], row["entity_id"]) for row in rows]


def test_the_trail_filters_by_actor_id(client, trail):
    rows = _rows(client, trail["first"], actor=str(trail["first"].user.id))
    assert _summary(rows) == [
        ("staff.revoke_tokens", trail["y"]),
        ("staff.update", trail["x"]),
        ("staff.create", trail["x"]),
    ]


def test_the_trail_filters_by_actor_username(client, trail):
    by_name = _rows(client, trail["first"], actor=trail["second"].user.username)
    assert _summary(by_name) == [("staff.create", trail["y"])]
    assert by_name == _rows(client, trail["first"], actor=str(trail["second"].user.id))


def test_the_trail_filters_by_action(client, trail):
    rows = _rows(client, trail["first"], action="staff.update")
    assert _summary(rows) == [("staff.update", trail["x"])]


def test_the_trail_filters_by_entity(client, trail, session):
    make_station(session)  # a station row in the trail, written by the system
    rows = _rows(client, trail["first"], entity_type="staff_user", entity_id=trail["y"])
    assert _summary(rows) == [("staff.revoke_tokens", trail["y"]), ("staff.create", trail["y"])]
    typed = _rows(client, trail["first"], entity_type="staff_user")
    assert {row["entity_type"] for row in typed} == {"staff_user"}
    assert {trail["x"], trail["y"]} <= {row["entity_id"] for row in typed}
    assert all(
        row["entity_type"] != "staff_user" for row in _rows(client, trail["first"], entity_type="station")
    )


def test_the_trail_filters_by_request_id(client, trail):
    for name, entity in (("create_x", "x"), ("create_y", "y"), ("rename_x", "x"), ("revoke_y", "y")):
        rows = _rows(client, trail["first"], request_id=trail["requests"][name])
        assert [row["entity_id"] for row in rows] == [trail[entity]], name


def test_filters_combine(client, trail):
    rows = _rows(
        client, trail["first"], actor=str(trail["first"].user.id), entity_id=trail["x"], action="staff.create"
    )
    assert _summary(rows) == [("staff.create", trail["x"])]
    assert _rows(client, trail["first"], actor=str(trail["second"].user.id), action="staff.update") == []


def test_filters_that_match_nothing_give_an_empty_page(client, trail):
    body = _audit(client, trail["first"], action="no.such.action")
    assert body == {"items": [], "next_cursor": None}


def _rename(client, admin, target, name: str) -> None:
    """A cheap audited write: renaming a staff member."""
    response = client.patch(f"{STAFF}/{target.user.id}", json={"display_name": name}, headers=admin.headers)
    assert response.status_code == 200, response.text


def _names(rows: list[dict]) -> list[str]:
    return [row["after"]["display_name"] for row in rows]


def test_the_trail_filters_by_time_since_inclusive_and_until_exclusive(client, staff):
    admin, target = staff("admin"), staff("finance")
    base = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    times = [base, base + timedelta(hours=1), base + timedelta(hours=2)]
    for moment, name in zip(times, ("early", "middle", "late"), strict=True):
        with time_machine.travel(moment, tick=False):
            _rename(client, admin, target, name)

    def names(**params: object) -> list[str]:
        return _names(_rows(client, admin, actor=str(admin.user.id), **params))

    assert names(since=times[1].isoformat()) == ["late", "middle"]
    assert names(until=times[1].isoformat()) == ["early"]
    assert names(since=times[0].isoformat(), until=times[2].isoformat()) == ["middle", "early"]
    assert names(
        since=(times[0] + timedelta(minutes=30)).isoformat(),
        until=(times[1] + timedelta(minutes=30)).isoformat(),
    ) == ["middle"]
    assert names(since=(times[2] + timedelta(seconds=1)).isoformat()) == []


def test_time_filters_honour_the_offset_they_are_given_in(client, staff):
    admin, target = staff("admin"), staff("finance")
    moment = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        _rename(client, admin, target, "offset")
    shanghai = moment.astimezone(ZoneInfo("Asia/Shanghai"))  # the same instant, written as 北京时间
    assert _names(_rows(client, admin, actor=str(admin.user.id), since=shanghai.isoformat())) == ["offset"]
    assert _rows(client, admin, actor=str(admin.user.id), until=shanghai.isoformat()) == []


def test_a_time_filter_without_an_offset_is_a_422(client, staff):
    response = client.get(AUDIT, params={"since": "2026-01-01T00:00:00"}, headers=staff("admin").headers)
    assert response.status_code == 422
    assert _error(response)["code"] == "validation_error"


# --- pages, newest first -----------------------------------------------------------------------------------


def _all_pages(client, admin, **params) -> list[dict]:
    pages = []
    cursor = None
    while True:
        body = _audit(client, admin, **params, **({"cursor": cursor} if cursor else {}))
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


def test_the_trail_is_newest_first_in_pages_with_a_next_cursor(client, staff):
    admin, target = staff("admin"), staff("finance")
    written = [f"paged-{n}" for n in range(5)]
    for name in written:
        _rename(client, admin, target, name)
    first = _audit(client, admin, actor=str(admin.user.id), limit=2)
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    pages = _all_pages(client, admin, actor=str(admin.user.id), limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    rows = [row for page in pages for row in page]
    assert _names(rows) == list(reversed(written))
    moments = [datetime.fromisoformat(row["occurred_at"]) for row in rows]
    assert moments == sorted(moments, reverse=True)


def test_pages_stay_complete_when_rows_share_the_same_instant(client, staff):
    admin, target = staff("admin"), staff("finance")
    written = [f"same-instant-{n}" for n in range(5)]
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=1), tick=False):
        for name in written:
            _rename(client, admin, target, name)
    rows = [row for page in _all_pages(client, admin, actor=str(admin.user.id), limit=2) for row in page]
    assert len({row["occurred_at"] for row in rows}) == 1
    assert sorted(_names(rows)) == sorted(written)
    assert len(rows) == 5


def test_rows_written_after_the_first_page_do_not_disturb_the_next_pages(client, staff):
    admin, target = staff("admin"), staff("finance")
    written = [f"stable-{n}" for n in range(4)]
    for name in written:
        _rename(client, admin, target, name)
    first = _audit(client, admin, actor=str(admin.user.id), limit=2)
    _rename(client, admin, target, "late")
    second = _audit(client, admin, actor=str(admin.user.id), limit=2, cursor=first["next_cursor"])
    assert _names(first["items"] + second["items"]) == list(reversed(written))


def test_the_default_page_holds_fifty_rows(client, staff, session):
    admin = staff("admin")
    for n in range(51):
        audit.record(session, SYSTEM, "test.bulk", "thing", str(n), after={"n": n})
    session.flush()
    body = _audit(client, admin, action="test.bulk")
    assert len(body["items"]) == 50
    assert body["next_cursor"]
    rest = _audit(client, admin, action="test.bulk", cursor=body["next_cursor"])
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert {row["entity_id"] for row in body["items"] + rest["items"]} == {str(n) for n in range(51)}


GARBAGE_CURSORS = {
    "word": "garbage",
    "symbols": "%%%%",
    "not-json": "bm90IGpzb24",
    "non-ascii": "游标",
    "too-short": _cursor("2026-01-01T00:00:00+00:00"),
    "bad-time": _cursor("yesterday", "01a20000-0000-7000-8000-000000000000"),
    "bad-id": _cursor("2026-01-01T00:00:00+00:00", "not-a-uuid"),
    "numbers": _cursor(1, 2),
    "object": _cursor({"a": 1}),
}


def test_a_garbage_cursor_is_a_400_invalid_cursor(client, staff):
    admin = staff("admin")
    answers = {
        name: client.get(AUDIT, params={"cursor": cursor}, headers=admin.headers)
        for name, cursor in GARBAGE_CURSORS.items()
    }
    wrong = {
        name: (response.status_code, response.json().get("error", {}).get("code"))
        for name, response in answers.items()
        if response.status_code != 400 or _error(response)["code"] != "invalid_cursor"
    }
    assert wrong == {}


def test_a_tampered_cursor_with_a_time_without_offset_is_a_400_invalid_cursor(client, staff):
    cursor = _cursor("2026-01-01T00:00:00", "01a20000-0000-7000-8000-000000000000")
    response = client.get(AUDIT, params={"cursor": cursor}, headers=staff("admin").headers)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_cursor"


def test_a_limit_out_of_range_is_a_422(client, staff):
    admin = staff("admin")
    for limit in (0, 501, -3):
        assert client.get(AUDIT, params={"limit": limit}, headers=admin.headers).status_code == 422, limit


# --- who may read it ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=str)
def test_only_admins_read_the_audit_trail(client, staff, role):
    response = client.get(AUDIT, headers=staff(role).headers)
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_reading_the_audit_trail_needs_a_token(client):
    response = client.get(AUDIT)
    assert response.status_code == 401
    assert _error(response)["code"] == "token_missing"
