"""Admins manage staff accounts over the API (/api/v1/staff), without needing the command line."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from forecourt.auth.models import StaffUser
from forecourt.auth.permissions import STATION_BOUND_ROLES, Role
from tests.fixtures.builders import PASSWORD, make_station

STAFF = "/api/v1/staff"
UNKNOWN_ID = "01a20000-0000-7000-8000-000000000000"
NOT_BOUND = [role for role in Role if role not in STATION_BOUND_ROLES]


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _create(client, admin, **body):
    payload = {"password": PASSWORD, **body}
    return client.post(STAFF, json=payload, headers=admin.headers)


def _pages(client, admin, **params) -> list[list[dict]]:
    pages = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(STAFF, params=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


def _assert_can_sign_in(client, username: str, role: Role) -> None:
    """A new account signs in at once and its token carries its role."""
    login = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["role"] == role.value


# --- creating accounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_BOUND, ids=str)
def test_an_admin_creates_a_head_office_account_of_each_role(client, staff, role):
    admin = staff("admin")
    response = _create(client, admin, username=f"hq-{role.value}", role=role.value, display_name="总部 张三")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "username",
        "display_name",
        "role",
        "station",
        "partner_code",
        "is_active",
        "created_at",
        "last_login_at",
    }
    assert body["username"] == f"hq-{role.value}"
    assert body["role"] == role.value
    assert body["display_name"] == "总部 张三"
    assert body["station"] is None
    assert body["is_active"] is True
    assert body["last_login_at"] is None
    uuid.UUID(body["id"])
    _assert_can_sign_in(client, body["username"], role)


@pytest.mark.parametrize("role", sorted(STATION_BOUND_ROLES), ids=str)
def test_an_admin_creates_a_station_account_bound_to_its_station(client, staff, session, role):
    admin = staff("admin")
    station = make_station(session)
    response = _create(client, admin, username=f"st-{role.value}", role=role.value, station=station.code)
    assert response.status_code == 201, response.text
    assert response.json()["station"] == station.code
    stored = session.scalars(select(StaffUser).where(StaffUser.username == f"st-{role.value}")).one()
    assert stored.station_id == station.id
    _assert_can_sign_in(client, f"st-{role.value}", role)


def test_the_station_code_is_matched_case_insensitively(client, staff, session):
    admin = staff("admin")
    station = make_station(session)
    response = _create(client, admin, username="lower-code", role="attendant", station=station.code.lower())
    assert response.status_code == 201
    assert response.json()["station"] == station.code


def test_the_display_name_defaults_to_the_username(client, staff):
    response = _create(client, staff("admin"), username="li.na", role="finance")
    assert response.json()["display_name"] == "li.na"


def test_usernames_are_stored_in_lower_case(client, staff):
    response = _create(client, staff("admin"), username="Li.Na", role="finance")
    assert response.status_code == 201
    assert response.json()["username"] == "li.na"


def test_a_station_account_without_a_station_is_refused(client, staff):
    admin = staff("admin")
    for role in sorted(STATION_BOUND_ROLES):
        response = _create(client, admin, username="no-station", role=role.value)
        assert response.status_code == 400, role
        assert _error(response)["code"] == "invalid_staff_account"


def test_a_head_office_account_with_a_station_is_refused(client, staff, session):
    admin = staff("admin")
    station = make_station(session)
    for role in NOT_BOUND:
        response = _create(client, admin, username="with-station", role=role.value, station=station.code)
        assert response.status_code == 400, role
        assert _error(response)["code"] == "invalid_staff_account"
    assert session.scalars(select(StaffUser).where(StaffUser.username == "with-station")).first() is None


def test_a_taken_username_is_a_409(client, staff):
    admin = staff("admin")
    assert _create(client, admin, username="zhou.li", role="finance").status_code == 201
    response = _create(client, admin, username="zhou.li", role="marketing")
    assert response.status_code == 409
    assert _error(response)["code"] == "username_taken"


def test_a_username_taken_in_another_case_is_a_409(client, staff):
    admin = staff("admin")
    _create(client, admin, username="zhou.li", role="finance")
    response = _create(client, admin, username="ZHOU.LI", role="finance")
    assert response.status_code == 409
    assert _error(response)["code"] == "username_taken"


def test_a_refused_duplicate_leaves_the_first_account_untouched(client, staff, session):
    admin = staff("admin")
    first = _create(client, admin, username="zhou.li", role="finance").json()
    _create(client, admin, username="zhou.li", role="marketing", password="another-password")
    users = session.scalars(select(StaffUser).where(StaffUser.username == "zhou.li")).all()
    assert [(str(u.id), u.role) for u in users] == [(first["id"], "finance")]
    login = client.post("/api/v1/auth/login", json={"username": "zhou.li", "password": PASSWORD})
    assert login.status_code == 200


def test_a_password_shorter_than_eight_characters_is_a_weak_password(client, staff):
    admin = staff("admin")
    for password in ("", "short", "1234567"):
        response = _create(client, admin, username="weakling", role="finance", password=password)
        assert response.status_code == 400, password
        error = _error(response)
        assert error["code"] == "weak_password"
        assert error["details"]["min_length"] == 8


def test_a_password_of_eight_characters_is_accepted(client, staff):
    assert (
        _create(client, staff("admin"), username="eight", role="finance", password="12345678").status_code
        == 201
    )


def test_an_unknown_station_is_a_404(client, staff):
    response = _create(client, staff("admin"), username="lost", role="attendant", station="S-NOWHERE")
    assert response.status_code == 404
    assert _error(response)["code"] == "station_not_found"


MALFORMED_ACCOUNTS = {
    "unknown-role": {"username": "x", "role": "superuser"},
    "space": {"username": "has space", "role": "finance"},
    "non-ascii": {"username": "中文名", "role": "finance"},
    "empty": {"username": "", "role": "finance"},
    "too-long": {"username": "x" * 65, "role": "finance"},
    "no-username": {"role": "finance"},
    "no-role": {"username": "x"},
    "unknown-field": {"username": "x", "role": "finance", "is_superuser": True},
    "password-too-long": {"username": "x", "role": "finance", "password": "p" * 257},
}


def test_a_malformed_staff_account_is_a_422(client, staff):
    admin = staff("admin")
    for name, body in MALFORMED_ACCOUNTS.items():
        response = client.post(STAFF, json={"password": PASSWORD, **body}, headers=admin.headers)
        assert response.status_code == 422, name
        assert _error(response)["code"] == "validation_error", name


def test_the_response_never_contains_the_password_or_its_hash(client, staff):
    response = _create(
        client, staff("admin"), username="secretive", role="finance", password="sesame-open-42"
    )
    assert "sesame-open-42" not in response.text
    assert "argon2" not in response.text
    assert "password" not in response.text


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=str)
def test_only_admins_manage_staff(client, staff, role):
    login = staff(role)
    for response in (
        client.get(STAFF, headers=login.headers),
        client.post(
            STAFF, json={"username": "x1", "password": PASSWORD, "role": "finance"}, headers=login.headers
        ),
        client.get(f"{STAFF}/{login.user.id}", headers=login.headers),
        client.patch(f"{STAFF}/{login.user.id}", json={"display_name": "me"}, headers=login.headers),
        client.post(f"{STAFF}/{login.user.id}/revoke-tokens", headers=login.headers),
    ):
        assert response.status_code == 403
        assert _error(response)["code"] == "permission_denied"


def test_a_refused_non_admin_creates_no_account(client, staff, session):
    login = staff("marketing")
    client.post(
        STAFF, json={"username": "sneaky", "password": PASSWORD, "role": "admin"}, headers=login.headers
    )
    assert session.scalars(select(StaffUser).where(StaffUser.username == "sneaky")).first() is None


def test_the_staff_api_needs_a_token(client):
    response = client.get(STAFF)
    assert response.status_code == 401
    assert _error(response)["code"] == "token_missing"


# --- reading accounts ---------------------------------------------------------------------------------------


def test_an_admin_reads_one_account(client, staff):
    admin = staff("admin")
    target = staff("attendant")
    response = client.get(f"{STAFF}/{target.user.id}", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(target.user.id)
    assert body["role"] == "attendant"
    assert body["station"] is not None
    assert body["last_login_at"] is not None  # the fixture signed them in


def test_reading_an_unknown_account_is_a_404(client, staff):
    response = client.get(f"{STAFF}/{UNKNOWN_ID}", headers=staff("admin").headers)
    assert response.status_code == 404
    assert _error(response)["code"] == "staff_not_found"


def test_an_id_that_is_not_a_uuid_is_a_422(client, staff):
    response = client.get(f"{STAFF}/not-a-uuid", headers=staff("admin").headers)
    assert response.status_code == 422


def test_the_staff_list_pages_through_every_account_in_username_order(client, staff):
    admin = staff("admin")
    names = ["fin-e", "fin-a", "fin-d", "fin-b", "fin-c"]
    for name in names:
        assert _create(client, admin, username=name, role="finance").status_code == 201
    pages = _pages(client, admin, role="finance", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [item["username"] for page in pages for item in page]
    assert listed == sorted(names)


def test_a_page_exactly_full_at_the_end_is_followed_by_an_empty_page(client, staff):
    admin = staff("admin")
    for name in ("fin-a", "fin-b", "fin-c", "fin-d"):
        _create(client, admin, username=name, role="finance")
    pages = _pages(client, admin, role="finance", limit=2)
    assert [len(page) for page in pages] == [2, 2, 0]


def test_the_staff_list_without_a_filter_holds_every_role(client, staff):
    admin = staff("admin")
    others = [staff(role).user.username for role in (Role.FINANCE, Role.ATTENDANT, Role.PARTNER)]
    listed = [item["username"] for page in _pages(client, admin, limit=500) for item in page]
    assert set(others) | {admin.user.username} <= set(listed)
    assert listed == sorted(listed)


def test_the_staff_list_filters_by_role(client, staff):
    admin = staff("admin")
    staff("finance")
    partner = staff("partner").user
    items = client.get(STAFF, params={"role": "partner"}, headers=admin.headers).json()["items"]
    assert [item["username"] for item in items] == [partner.username]


def test_a_garbage_staff_list_cursor_is_a_400_invalid_cursor(client, staff):
    response = client.get(STAFF, params={"cursor": "%%% not a cursor"}, headers=staff("admin").headers)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_cursor"


def test_a_staff_list_limit_out_of_range_is_a_422(client, staff):
    admin = staff("admin")
    for limit in (0, -1, 501):
        assert client.get(STAFF, params={"limit": limit}, headers=admin.headers).status_code == 422, limit


# --- changing accounts --------------------------------------------------------------------------------------


def test_an_admin_cannot_disable_themselves(client, staff):
    admin = staff("admin")
    response = client.patch(f"{STAFF}/{admin.user.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 403
    assert _error(response)["code"] == "cannot_change_own_access"
    assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 200


def test_an_admin_cannot_change_their_own_role(client, staff):
    admin = staff("admin")
    response = client.patch(f"{STAFF}/{admin.user.id}", json={"role": "marketing"}, headers=admin.headers)
    assert response.status_code == 403
    assert _error(response)["code"] == "cannot_change_own_access"
    assert client.get("/api/v1/auth/me", headers=admin.headers).json()["role"] == "admin"


def test_a_refused_change_of_own_access_changes_nothing_else(client, staff):
    admin = staff("admin")
    response = client.patch(
        f"{STAFF}/{admin.user.id}", json={"role": "finance", "display_name": "changed"}, headers=admin.headers
    )
    assert response.status_code == 403
    assert client.get("/api/v1/auth/me", headers=admin.headers).json()["display_name"] != "changed"


def test_an_admin_may_rename_themselves_and_restate_their_own_role(client, staff):
    admin = staff("admin")
    response = client.patch(
        f"{STAFF}/{admin.user.id}",
        json={"display_name": "总管理员", "role": "admin", "is_active": True},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "总管理员"
    assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 200


def test_an_admin_can_disable_another_admin(client, staff):
    admin = staff("admin")
    other = staff("admin")
    response = client.patch(f"{STAFF}/{other.user.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_a_head_office_account_moved_to_a_station_role_needs_a_station(client, staff, session):
    admin = staff("admin")
    target = staff("marketing").user
    refused = client.patch(f"{STAFF}/{target.id}", json={"role": "station_manager"}, headers=admin.headers)
    assert refused.status_code == 400
    assert _error(refused)["code"] == "invalid_staff_account"
    station = make_station(session)
    moved = client.patch(
        f"{STAFF}/{target.id}",
        json={"role": "station_manager", "station": station.code},
        headers=admin.headers,
    )
    assert moved.status_code == 200
    assert moved.json()["role"] == "station_manager"
    assert moved.json()["station"] == station.code


def test_a_station_account_moved_to_head_office_leaves_its_station(client, staff, session):
    admin = staff("admin")
    target = staff("attendant").user
    response = client.patch(f"{STAFF}/{target.id}", json={"role": "service"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["station"] is None
    session.expire_all()
    assert session.get(StaffUser, target.id).station_id is None


def test_an_attendant_promoted_to_manager_keeps_their_station(client, staff):
    admin = staff("admin")
    target = staff("attendant")
    station = client.get(f"{STAFF}/{target.user.id}", headers=admin.headers).json()["station"]
    response = client.patch(
        f"{STAFF}/{target.user.id}", json={"role": "station_manager"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["station"] == station


def test_a_station_account_cannot_be_detached_from_its_station(client, staff):
    admin = staff("admin")
    target = staff("attendant").user
    response = client.patch(f"{STAFF}/{target.id}", json={"station": None}, headers=admin.headers)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_staff_account"


def test_a_head_office_account_cannot_be_given_a_station(client, staff, session):
    admin = staff("admin")
    target = staff("finance").user
    station = make_station(session)
    response = client.patch(f"{STAFF}/{target.id}", json={"station": station.code}, headers=admin.headers)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_staff_account"


def test_moving_to_an_unknown_station_is_a_404(client, staff):
    admin = staff("admin")
    target = staff("attendant").user
    response = client.patch(f"{STAFF}/{target.id}", json={"station": "S-NOWHERE"}, headers=admin.headers)
    assert response.status_code == 404
    assert _error(response)["code"] == "station_not_found"


def test_a_weak_new_password_is_refused_and_the_old_one_still_works(client, staff):
    admin = staff("admin")
    target = staff("finance")
    response = client.patch(f"{STAFF}/{target.user.id}", json={"password": "short"}, headers=admin.headers)
    assert response.status_code == 400
    assert _error(response)["code"] == "weak_password"
    login = client.post("/api/v1/auth/login", json={"username": target.user.username, "password": PASSWORD})
    assert login.status_code == 200
    assert client.get("/api/v1/auth/me", headers=target.headers).status_code == 200


def test_changing_an_unknown_account_is_a_404(client, staff):
    response = client.patch(
        f"{STAFF}/{UNKNOWN_ID}", json={"display_name": "x"}, headers=staff("admin").headers
    )
    assert response.status_code == 404
    assert _error(response)["code"] == "staff_not_found"


def test_an_unknown_field_in_a_change_is_a_422(client, staff):
    admin = staff("admin")
    target = staff("finance").user
    response = client.patch(f"{STAFF}/{target.id}", json={"username": "renamed"}, headers=admin.headers)
    assert response.status_code == 422


def test_an_account_created_over_the_api_is_the_one_the_service_finds(client, staff, session):
    """The CLI creates accounts through the same service; the API needs nothing from it."""
    from forecourt.auth import service as auth

    admin = staff("admin")
    created = _create(client, admin, username="api-made", role="agent").json()
    found = auth.get_user_by_username(session, "API-MADE")
    assert str(found.id) == created["id"]
    assert found.role == "agent"
