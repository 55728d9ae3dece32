"""Bearer tokens: they expire, can be revoked, and any change of a staff member's access ends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.fixtures.builders import PASSWORD, make_station

ME = "/api/v1/auth/me"


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _works(client, token: str) -> bool:
    response = client.get(ME, headers=_bearer(token))
    assert response.status_code in (200, 401), response.text
    if response.status_code == 401:
        assert _error(response)["code"] == "token_invalid"
    return response.status_code == 200


# --- lifetime ----------------------------------------------------------------------------------------


def test_a_token_works_until_just_before_it_expires(client, staff):
    user = staff("marketing").user
    issued_at = datetime.now(UTC)
    token = _login(client, user.username)
    ttl = timedelta(minutes=client.app.state.settings.staff_token_ttl_minutes)
    with time_machine.travel(issued_at + ttl - timedelta(minutes=1), tick=False):
        assert _works(client, token)


def test_an_expired_token_is_a_401_token_invalid(client, staff):
    user = staff("marketing").user
    token = _login(client, user.username)
    ttl = timedelta(minutes=client.app.state.settings.staff_token_ttl_minutes)
    with time_machine.travel(datetime.now(UTC) + ttl + timedelta(minutes=1), tick=False):
        response = client.get(ME, headers=_bearer(token))
    assert response.status_code == 401
    assert _error(response)["code"] == "token_invalid"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_lifetime_follows_the_configured_setting(database, test_settings, staff):
    from fastapi.testclient import TestClient

    from forecourt.app import create_app

    app = create_app(test_settings.model_copy(update={"staff_token_ttl_minutes": 30}), database=database)
    user = staff("marketing").user
    with TestClient(app, raise_server_exceptions=False) as client:
        issued_at = datetime.now(UTC)
        token = _login(client, user.username)
        with time_machine.travel(issued_at + timedelta(minutes=29), tick=False):
            assert _works(client, token)
        with time_machine.travel(issued_at + timedelta(minutes=31), tick=False):
            assert not _works(client, token)


def test_signing_in_again_after_expiry_gives_a_working_token(client, staff):
    user = staff("marketing").user
    ttl = timedelta(minutes=client.app.state.settings.staff_token_ttl_minutes)
    with time_machine.travel(datetime.now(UTC) + ttl + timedelta(hours=1), tick=False):
        token = _login(client, user.username)
        assert _works(client, token)


def test_purging_deletes_tokens_expired_for_more_than_a_day_and_keeps_the_rest(staff, session):
    from sqlalchemy import select

    from forecourt.auth import service as auth
    from forecourt.auth.models import StaffToken

    now = datetime.now(UTC)
    ttl = timedelta(minutes=12 * 60)  # what the fixture's logins use (the default setting)
    with time_machine.travel(now - ttl - timedelta(days=2), tick=False):
        long_expired = staff("finance")
    with time_machine.travel(now - ttl - timedelta(hours=1), tick=False):
        just_expired = staff("finance")
    live = staff("finance")
    assert auth.purge_expired_tokens(session, now) == 1
    session.expire_all()
    remaining = set(session.scalars(select(StaffToken.user_id)))
    assert long_expired.user.id not in remaining
    assert {just_expired.user.id, live.user.id} <= remaining


# --- missing or wrong credentials ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "}],
    ids=["none", "empty", "scheme-only", "blank-token"],
)
def test_a_request_without_a_token_is_a_401_token_missing(client, headers):
    response = client.get(ME, headers=headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "token_missing"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_in_another_scheme_is_a_401_token_missing(client, staff):
    login = staff("marketing")
    response = client.get(ME, headers={"Authorization": f"Basic {login.token}"})
    assert response.status_code == 401
    assert _error(response)["code"] == "token_missing"


def test_the_bearer_scheme_is_case_insensitive(client, staff):
    login = staff("marketing")
    assert client.get(ME, headers={"Authorization": f"bearer {login.token}"}).status_code == 200


@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 43, "' OR 1=1 --", "令牌", "a.b.c"],
    ids=["word", "token-shaped", "sql", "chinese", "jwt-shaped"],
)
def test_a_garbage_token_is_a_401_token_invalid(client, token):
    response = client.get(ME, headers={"Authorization": f"Bearer {token}".encode()})
    assert response.status_code == 401
    assert _error(response)["code"] == "token_invalid"


def test_a_token_with_one_character_changed_is_refused(client, staff):
    login = staff("marketing")
    last = login.token[-1]
    tampered = login.token[:-1] + ("A" if last != "A" else "B")
    assert not _works(client, tampered)
    assert _works(client, login.token)


def test_the_digest_of_a_token_is_not_a_token(client, staff):
    from forecourt.kit.crypto import sha256_hex

    login = staff("marketing")
    assert not _works(client, sha256_hex(login.token))


# --- revocation ----------------------------------------------------------------------------------------


def test_an_admin_can_revoke_every_live_token_of_a_staff_member(client, staff):
    admin = staff("admin")
    login = staff("finance")
    second = _login(client, login.user.username)
    response = client.post(f"/api/v1/staff/{login.user.id}/revoke-tokens", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert not _works(client, login.token)
    assert not _works(client, second)


def test_revoking_tokens_leaves_other_staff_signed_in(client, staff):
    admin = staff("admin")
    target = staff("finance")
    bystander = staff("finance")
    client.post(f"/api/v1/staff/{target.user.id}/revoke-tokens", headers=admin.headers)
    assert _works(client, bystander.token)
    assert _works(client, admin.token)


def test_revoking_tokens_counts_only_live_ones(client, staff):
    admin = staff("admin")
    login = staff("finance")
    client.post("/api/v1/auth/logout", headers=login.headers)
    response = client.post(f"/api/v1/staff/{login.user.id}/revoke-tokens", headers=admin.headers)
    assert response.json() == {"revoked": 0}


def test_a_staff_member_whose_tokens_were_revoked_can_sign_in_again(client, staff):
    admin = staff("admin")
    login = staff("finance")
    client.post(f"/api/v1/staff/{login.user.id}/revoke-tokens", headers=admin.headers)
    assert _works(client, _login(client, login.user.username))


def test_revoking_tokens_of_an_unknown_staff_member_is_a_404(client, staff):
    admin = staff("admin")
    response = client.post(
        "/api/v1/staff/01a20000-0000-7000-8000-000000000000/revoke-tokens", headers=admin.headers
    )
    assert response.status_code == 404
    assert _error(response)["code"] == "staff_not_found"


def test_disabling_a_staff_member_ends_their_live_tokens(client, staff):
    admin = staff("admin")
    login = staff("finance")
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not _works(client, login.token)


def test_reenabling_a_staff_member_does_not_bring_back_their_old_tokens(client, staff):
    admin = staff("admin")
    login = staff("finance")
    client.patch(f"/api/v1/staff/{login.user.id}", json={"is_active": False}, headers=admin.headers)
    client.patch(f"/api/v1/staff/{login.user.id}", json={"is_active": True}, headers=admin.headers)
    assert not _works(client, login.token)


def test_changing_a_staff_members_role_ends_their_live_tokens(client, staff):
    admin = staff("admin")
    login = staff("finance")
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"role": "marketing"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "marketing"
    assert not _works(client, login.token)
    fresh = _login(client, login.user.username)
    assert client.get(ME, headers=_bearer(fresh)).json()["role"] == "marketing"


def test_a_demoted_admin_loses_admin_access_immediately(client, staff):
    admin = staff("admin")
    other_admin = staff("admin")
    client.patch(f"/api/v1/staff/{other_admin.user.id}", json={"role": "finance"}, headers=admin.headers)
    fresh = _login(client, other_admin.user.username)
    response = client.get("/api/v1/staff", headers=_bearer(fresh))
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_changing_a_staff_members_password_ends_their_live_tokens(client, staff):
    admin = staff("admin")
    login = staff("finance")
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"password": "a-brand-new-password"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert not _works(client, login.token)
    old = client.post("/api/v1/auth/login", json={"username": login.user.username, "password": PASSWORD})
    assert old.status_code == 401
    assert _works(client, _login(client, login.user.username, "a-brand-new-password"))


def test_moving_an_attendant_to_another_station_ends_their_live_tokens(client, staff, session):
    admin = staff("admin")
    login = staff("attendant")
    other = make_station(session)
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"station": other.code}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["station"] == other.code
    assert not _works(client, login.token)


def test_renaming_a_staff_member_keeps_them_signed_in(client, staff):
    admin = staff("admin")
    login = staff("finance")
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"display_name": "财务 李娜"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "财务 李娜"
    assert _works(client, login.token)


def test_patching_the_same_role_keeps_them_signed_in(client, staff):
    admin = staff("admin")
    login = staff("finance")
    assert (
        client.patch(
            f"/api/v1/staff/{login.user.id}", json={"role": "finance"}, headers=admin.headers
        ).status_code
        == 200
    )
    assert _works(client, login.token)


def test_a_refused_change_of_access_leaves_the_tokens_alive(client, staff):
    admin = staff("admin")
    login = staff("finance")
    response = client.patch(
        f"/api/v1/staff/{login.user.id}", json={"role": "attendant"}, headers=admin.headers
    )  # an attendant needs a station
    assert response.status_code == 400
    assert _works(client, login.token)
