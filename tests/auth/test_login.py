"""Staff sign in with a username and password and get an opaque bearer token (SPEC §7 admin API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from forecourt.auth.models import StaffToken, StaffUser
from forecourt.auth.permissions import ROLE_PERMISSIONS, Role
from forecourt.db.base import Base, import_all_models
from forecourt.kit.crypto import sha256_hex
from tests.fixtures.builders import PASSWORD

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"
OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _login(client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _everything_stored(session) -> str:
    """Every row of every table, as text: what someone with a database dump would see."""
    import_all_models()
    return "\n".join(
        repr(tuple(row)) for table in Base.metadata.sorted_tables for row in session.execute(select(table))
    )


# --- signing in --------------------------------------------------------------------------------------


def test_the_right_username_and_password_get_a_bearer_token(client, staff):
    user = staff("marketing").user
    before = datetime.now(UTC)
    response = _login(client, user.username)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "bearer"
    assert len(body["access_token"]) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    ttl = timedelta(minutes=client.app.state.settings.staff_token_ttl_minutes)
    assert before + ttl - timedelta(seconds=5) <= expires_at <= datetime.now(UTC) + ttl + timedelta(seconds=5)


def test_each_login_gets_a_new_token(client, staff):
    user = staff("finance").user
    first = _login(client, user.username).json()["access_token"]
    second = _login(client, user.username).json()["access_token"]
    assert first != second
    assert client.get(ME, headers=_bearer(first)).status_code == 200
    assert client.get(ME, headers=_bearer(second)).status_code == 200


def test_a_token_from_the_login_endpoint_works_on_me(client, staff):
    user = staff("marketing").user
    token = _login(client, user.username).json()["access_token"]
    response = client.get(ME, headers=_bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_me_shows_the_staff_members_role_and_permissions(client, staff, role):
    login = staff(role)
    response = client.get(ME, headers=login.headers)
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == str(login.user.id)
    assert me["username"] == login.user.username
    assert me["role"] == role.value
    assert me["is_active"] is True
    assert me["last_login_at"] is not None
    assert me["permissions"] == sorted(str(p) for p in ROLE_PERMISSIONS[role])
    assert "password" not in response.text.lower()


def test_me_shows_the_station_of_a_station_bound_account(client, staff, session):
    from tests.fixtures.builders import make_station

    station = make_station(session)
    login = staff("attendant", station=station)
    me = client.get(ME, headers=login.headers).json()
    assert me["station"] == station.code
    assert me["permissions"] == [
        "coupons:verify",
        "members:read",
        "members:write",
        "pos:sell",
        "recharge_cards:activate",
        "stations:read",
        "wallet:top_up",
    ]


def test_the_username_is_case_insensitive(client, staff):
    user = staff("service", username="wang.lei").user
    for spelling in ("WANG.LEI", "Wang.Lei", "  wang.LEI  "):
        response = _login(client, spelling)
        assert response.status_code == 200, spelling
        me = client.get(ME, headers=_bearer(response.json()["access_token"])).json()
        assert (me["id"], me["username"]) == (str(user.id), "wang.lei")


def test_the_password_is_case_sensitive(client, staff):
    user = staff("service").user
    response = _login(client, user.username, PASSWORD.upper())
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_credentials"


def test_a_wrong_password_and_an_unknown_user_are_indistinguishable(client, staff):
    user = staff("marketing").user
    wrong_password = _login(client, user.username, "not-the-password")
    unknown_user = _login(client, "nobody-by-this-name", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert _error(wrong_password)["code"] == _error(unknown_user)["code"] == "invalid_credentials"
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.headers["WWW-Authenticate"] == unknown_user.headers["WWW-Authenticate"] == "Bearer"


def test_a_disabled_account_cannot_sign_in(client, staff):
    admin = staff("admin")
    user = staff("finance").user
    assert (
        client.patch(f"/api/v1/staff/{user.id}", json={"is_active": False}, headers=admin.headers).status_code
        == 200
    )
    response = _login(client, user.username)
    assert response.status_code == 401
    assert _error(response)["code"] == "account_disabled"
    assert "access_token" not in response.text
    # with a wrong password the answer is the usual one: it says nothing about the account
    wrong = _login(client, user.username, "not-the-password")
    assert wrong.status_code == 401
    assert _error(wrong)["code"] == "invalid_credentials"
    # enabled again, the account signs in
    client.patch(f"/api/v1/staff/{user.id}", json={"is_active": True}, headers=admin.headers)
    assert _login(client, user.username).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "someone"},
        {"password": PASSWORD},
        {},
        {"username": "", "password": PASSWORD},
        {"username": "someone", "password": ""},
        {"username": "someone", "password": PASSWORD, "remember_me": True},
        {"username": 42, "password": PASSWORD},
        {"username": "x" * 65, "password": PASSWORD},
        {"username": "someone", "password": "x" * 257},
        ["someone", PASSWORD],
    ],
    ids=[
        "no-password",
        "no-username",
        "empty",
        "blank-username",
        "blank-password",
        "unknown-field",
        "number-username",
        "username-too-long",
        "password-too-long",
        "a-list",
    ],
)
def test_a_malformed_login_body_is_a_422_validation_error(client, body):
    response = client.post(LOGIN, json=body)
    assert response.status_code == 422
    assert _error(response)["code"] == "validation_error"


def test_a_login_body_that_is_not_json_is_a_422_malformed_json(client):
    response = client.post(LOGIN, content=b'{"username": "a", ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert _error(response)["code"] == "malformed_json"


def test_a_malformed_login_does_not_count_as_a_failed_attempt(client, staff):
    user = staff("marketing").user
    for _ in range(10):
        client.post(LOGIN, json={"username": user.username})
    assert _login(client, user.username).status_code == 200


def test_signing_in_records_the_time_of_the_last_login(client, staff, session):
    user = staff("marketing").user
    previous = user.last_login_at
    _login(client, user.username)
    session.expire_all()
    refreshed = session.get(StaffUser, user.id)
    assert refreshed.last_login_at is not None
    assert previous is None or refreshed.last_login_at > previous


# --- what is stored ----------------------------------------------------------------------------------


def test_the_token_is_stored_only_as_its_sha256_digest(client, staff, session):
    user = staff("marketing").user
    token = _login(client, user.username).json()["access_token"]
    stored = session.scalars(select(StaffToken).where(StaffToken.token_hash == sha256_hex(token))).all()
    assert len(stored) == 1
    row = stored[0]
    assert row.user_id == user.id
    assert row.token_hash == sha256_hex(token) != token
    assert row.revoked_at is None
    assert token not in _everything_stored(session)


def test_the_stored_token_remembers_where_it_was_issued(client, staff, session):
    user = staff("marketing").user
    response = client.post(
        LOGIN,
        json={"username": user.username, "password": PASSWORD},
        headers={"User-Agent": "station-console/1.0"},
    )
    token = response.json()["access_token"]
    row = session.scalars(select(StaffToken).where(StaffToken.token_hash == sha256_hex(token))).one()
    assert row.created_ip == "testclient"
    assert row.user_agent == "station-console/1.0"
    assert row.expires_at == datetime.fromisoformat(response.json()["expires_at"])


def test_the_password_is_stored_as_an_argon2id_hash_with_owasp_parameters(client, staff, session):
    admin = staff("admin")
    password = "加油-very-secret-42"
    created = client.post(
        "/api/v1/staff",
        json={"username": "zhao.min", "password": password, "role": "marketing"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    user = session.scalars(select(StaffUser).where(StaffUser.username == "zhao.min")).one()
    assert user.password_hash.startswith(OWASP_PREFIX)
    assert password not in _everything_stored(session)
    assert _login(client, "zhao.min", password).status_code == 200


def test_a_hash_with_outdated_parameters_is_upgraded_at_the_next_login(client, staff, session):
    user = staff("marketing").user
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    session.flush()
    assert _login(client, user.username).status_code == 200
    session.expire_all()
    upgraded = session.get(StaffUser, user.id).password_hash
    assert upgraded.startswith(OWASP_PREFIX)
    assert _login(client, user.username).status_code == 200


# --- logging out -------------------------------------------------------------------------------------


def test_logging_out_ends_the_token(client, staff):
    user = staff("finance").user
    token = _login(client, user.username).json()["access_token"]
    response = client.post(LOGOUT, headers=_bearer(token))
    assert response.status_code == 204
    assert response.content == b""
    after = client.get(ME, headers=_bearer(token))
    assert after.status_code == 401
    assert _error(after)["code"] == "token_invalid"


def test_logging_out_ends_only_that_token(client, staff):
    user = staff("finance").user
    kept = _login(client, user.username).json()["access_token"]
    ended = _login(client, user.username).json()["access_token"]
    client.post(LOGOUT, headers=_bearer(ended))
    assert client.get(ME, headers=_bearer(kept)).status_code == 200


def test_logging_out_twice_is_a_401(client, staff):
    login = staff("finance")
    assert client.post(LOGOUT, headers=login.headers).status_code == 204
    again = client.post(LOGOUT, headers=login.headers)
    assert again.status_code == 401
    assert _error(again)["code"] == "token_invalid"


def test_logout_without_a_token_is_a_401(client):
    response = client.post(LOGOUT)
    assert response.status_code == 401
    assert _error(response)["code"] == "token_missing"


def test_logging_out_records_the_revocation_time(client, staff, session):
    login = staff("finance")
    client.post(LOGOUT, headers=login.headers)
    row = session.scalars(select(StaffToken).where(StaffToken.token_hash == sha256_hex(login.token))).one()
    session.refresh(row)
    assert row.revoked_at is not None


def test_signing_in_again_after_logout_works(client, staff):
    login = staff("finance")
    client.post(LOGOUT, headers=login.headers)
    token = _login(client, login.user.username).json()["access_token"]
    assert client.get(ME, headers=_bearer(token)).status_code == 200
