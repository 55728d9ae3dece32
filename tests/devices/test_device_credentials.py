"""Head office and station managers issue, list and revoke POS device credentials over the API.

The secret is shown once, when the credential is issued; the database keeps it encrypted only.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.audit.models import AuditEntry
from forecourt.devices.service import SECRET_PURPOSE
from tests.devices.support import DEVICES, STATUS, device_row, error_of, issue
from tests.fixtures.builders import make_station

READ_FIELDS = {"id", "station", "name", "created_at", "created_by", "revoked_at", "last_seen_at"}


def _issue_path(code: str) -> str:
    return f"/api/v1/stations/{code}/devices"


def _revoke_path(device_id: str) -> str:
    return f"{DEVICES}/{device_id}/revoke"


# --- issuing -----------------------------------------------------------------------------------------------


def test_an_admin_issues_a_credential_and_sees_the_secret_once(client, staff, session):
    admin = staff("admin")
    station = make_station(session)
    response = client.post(_issue_path(station.code), json={"name": "1号收银台"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"device_id", "secret", "station"}
    assert body["device_id"].startswith("dev_")
    assert body["station"] == station.code
    assert len(body["secret"]) >= 32

    listed = client.get(DEVICES, params={"station": station.code}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [device] = listed.json()
    assert set(device) == READ_FIELDS
    assert device["id"] == body["device_id"]
    assert device["name"] == "1号收银台"
    assert device["station"] == station.code
    assert device["created_by"] == admin.user.username
    assert device["revoked_at"] is None
    assert device["last_seen_at"] is None
    assert body["secret"] not in listed.text


def test_an_issued_credential_needs_no_name(client, staff, session):
    station = make_station(session)
    response = client.post(_issue_path(station.code), json={}, headers=staff("admin").headers)
    assert response.status_code == 201, response.text


def test_the_station_code_of_the_path_is_matched_case_insensitively(client, staff, session):
    station = make_station(session)
    response = client.post(_issue_path(station.code.lower()), json={}, headers=staff("admin").headers)
    assert response.status_code == 201, response.text
    assert response.json()["station"] == station.code


def test_each_credential_gets_its_own_id_and_secret(client, staff, session):
    admin = staff("admin")
    station = make_station(session)
    first = client.post(_issue_path(station.code), json={}, headers=admin.headers).json()
    second = client.post(_issue_path(station.code), json={}, headers=admin.headers).json()
    assert first["device_id"] != second["device_id"]
    assert first["secret"] != second["secret"]


def test_the_secret_is_stored_encrypted_never_in_clear(client, staff, session, app):
    station = make_station(session)
    body = client.post(
        _issue_path(station.code), json={"name": "till"}, headers=staff("admin").headers
    ).json()
    secret = body["secret"]

    row = device_row(session, body["device_id"])
    for column, value in row.items():
        assert secret not in str(value), f"the secret is readable in devices.{column}"
    ciphertext = row["secret_ciphertext"]
    keyring = app.state.keyring
    assert ciphertext.startswith(f"{keyring.primary_id}:")
    # Encrypted (recoverable by the server, which must verify signatures), bound to its purpose.
    assert keyring.decrypt(ciphertext, SECRET_PURPOSE) == secret


def test_issuing_a_credential_is_audited_without_the_secret(client, staff, session):
    admin = staff("admin")
    station = make_station(session)
    body = client.post(_issue_path(station.code), json={"name": "till"}, headers=admin.headers).json()
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "device.create", AuditEntry.entity_id == body["device_id"]
        )
    ).one()
    assert entry.actor_label == admin.user.username
    assert body["secret"] not in repr(entry.after)
    assert entry.after == {"station": station.code, "name": "till"}


def test_a_station_manager_issues_credentials_for_their_own_station(client, staff, session):
    station = make_station(session)
    manager = staff("station_manager", station=station)
    response = client.post(_issue_path(station.code), json={}, headers=manager.headers)
    assert response.status_code == 201, response.text
    assert response.json()["station"] == station.code


def test_a_station_manager_cannot_issue_credentials_for_another_station(client, staff, session):
    manager = staff("station_manager", station=make_station(session))
    other = make_station(session)
    response = client.post(_issue_path(other.code), json={}, headers=manager.headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "station_out_of_scope"
    assert client.get(DEVICES, params={"station": other.code}, headers=staff("admin").headers).json() == []


@pytest.mark.parametrize("role", ["attendant", "marketing", "finance", "service", "agent", "partner"])
def test_other_roles_cannot_issue_credentials(client, staff, session, role):
    station = make_station(session)
    user = staff(role, station=station)
    response = client.post(_issue_path(station.code), json={}, headers=user.headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_issuing_without_a_token_is_401(client, session):
    station = make_station(session)
    response = client.post(_issue_path(station.code), json={})
    assert response.status_code == 401


def test_issuing_for_an_unknown_station_is_404(client, staff):
    response = client.post(_issue_path("NOPE404"), json={}, headers=staff("admin").headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "station_not_found"


def test_a_device_name_longer_than_100_characters_is_refused(client, staff, session):
    station = make_station(session)
    response = client.post(
        _issue_path(station.code), json={"name": "x" * 101}, headers=staff("admin").headers
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_an_unknown_field_in_the_issue_body_is_refused(client, staff, session):
    station = make_station(session)
    response = client.post(
        _issue_path(station.code), json={"name": "x", "secret": "mine"}, headers=staff("admin").headers
    )
    assert response.status_code == 422


# --- listing -----------------------------------------------------------------------------------------------


def test_the_device_list_never_shows_a_secret(client, staff, session, app):
    first = issue(session, app, name="A")
    second = issue(session, app, name="B")
    response = client.get(DEVICES, headers=staff("admin").headers)
    assert response.status_code == 200, response.text
    listed = {device["id"]: device for device in response.json()}
    assert {first.device_id, second.device_id} <= set(listed)
    for device in listed.values():
        assert set(device) == READ_FIELDS
    assert listed[first.device_id]["station"] == first.station.code
    assert listed[second.device_id]["station"] == second.station.code
    for credential in (first, second):
        assert credential.secret not in response.text


def test_the_device_list_filters_by_station(client, staff, session, app):
    first = issue(session, app)
    issue(session, app)
    response = client.get(DEVICES, params={"station": first.station.code}, headers=staff("admin").headers)
    assert [device["id"] for device in response.json()] == [first.device_id]


def test_the_device_list_of_an_unknown_station_is_404(client, staff):
    response = client.get(DEVICES, params={"station": "NOPE404"}, headers=staff("admin").headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "station_not_found"


def test_an_attendant_cannot_list_devices(client, staff):
    response = client.get(DEVICES, headers=staff("attendant").headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_the_list_shows_when_a_device_was_last_seen(client, staff, credential):
    admin = staff("admin")
    assert client.get(STATUS, headers=credential.headers()).status_code == 200
    [device] = client.get(DEVICES, params={"station": credential.station.code}, headers=admin.headers).json()
    assert device["last_seen_at"] is not None


# --- revoking ----------------------------------------------------------------------------------------------


def test_an_admin_revokes_a_credential_and_it_stops_working_at_once(client, staff, session, credential):
    admin = staff("admin")
    assert client.get(STATUS, headers=credential.headers()).status_code == 200

    response = client.post(_revoke_path(credential.device_id), headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == READ_FIELDS
    assert body["id"] == credential.device_id
    assert body["revoked_at"] is not None

    refused = client.get(STATUS, headers=credential.headers())
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "device_revoked"

    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "device.revoke", AuditEntry.entity_id == credential.device_id
        )
    ).one()
    assert entry.before == {"revoked": False}
    assert entry.after == {"revoked": True}


def test_revoking_twice_keeps_the_first_revocation(client, staff, session, credential):
    admin = staff("admin")
    first = client.post(_revoke_path(credential.device_id), headers=admin.headers).json()
    second = client.post(_revoke_path(credential.device_id), headers=admin.headers)
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first["revoked_at"]
    audited = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "device.revoke", AuditEntry.entity_id == credential.device_id
        )
    ).all()
    assert len(audited) == 1


def test_revoking_an_unknown_device_is_404(client, staff):
    response = client.post(_revoke_path("dev_0000000000000000"), headers=staff("admin").headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "device_not_found"


def test_a_station_manager_revokes_their_own_stations_device(client, staff, credential):
    manager = staff("station_manager", station=credential.station)
    response = client.post(_revoke_path(credential.device_id), headers=manager.headers)
    assert response.status_code == 200, response.text


def test_a_station_manager_cannot_revoke_another_stations_device(client, staff, session, credential):
    manager = staff("station_manager", station=make_station(session))
    response = client.post(_revoke_path(credential.device_id), headers=manager.headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "station_out_of_scope"
    assert device_row(session, credential.device_id)["revoked_at"] is None
    assert client.get(STATUS, headers=credential.headers()).status_code == 200


def test_an_attendant_cannot_revoke_a_device(client, staff, credential):
    attendant = staff("attendant", station=credential.station)
    response = client.post(_revoke_path(credential.device_id), headers=attendant.headers)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
