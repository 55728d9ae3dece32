"""A POS request is accepted only when it is signed by a live device credential, fresh, and never replayed.

Every rejection is a 401 with its own code, and leaves nothing behind: no nonce is recorded and the
device is not marked as seen.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient

from forecourt.app import create_app
from forecourt.devices.signing import sign
from forecourt.kit.actor import SYSTEM
from forecourt.stations import service as stations
from tests.devices.support import (
    STATUS,
    IssuedCredential,
    device_row,
    error_of,
    fresh_nonce,
    issue,
    nonce_count,
    nonces_of,
    send_raw_headers,
)

NOW = datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())


def _assert_refused(response, code: str) -> dict:
    assert response.status_code == 401, response.text
    error = error_of(response)
    assert error["code"] == code, error
    return error


def _assert_nothing_changed(session, credential: IssuedCredential, nonces_before: int) -> None:
    assert nonce_count(session) == nonces_before
    assert device_row(session, credential.device_id)["last_seen_at"] is None


# --- the happy path ----------------------------------------------------------------------------------------


def test_a_correctly_signed_status_call_names_the_device_its_station_and_the_server_clock(
    client, session, credential
):
    with time_machine.travel(NOW, tick=False):
        response = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "device_id": credential.device_id,
        "station": credential.station.code,
        "station_name": credential.station.name,
        "station_open": True,
        "server_time": body["server_time"],
        "server_timestamp": NOW_TS,
    }
    assert datetime.fromisoformat(body["server_time"]) == NOW


def test_an_accepted_request_records_its_nonce_and_marks_the_device_seen(client, session, credential):
    nonce = fresh_nonce()
    with time_machine.travel(NOW, tick=False):
        response = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS, nonce=nonce))
    assert response.status_code == 200, response.text
    assert nonces_of(session, credential.device_id) == [nonce]
    assert device_row(session, credential.device_id)["last_seen_at"] is not None


def test_the_status_shows_a_closed_station_as_closed(client, session, credential):
    stations.set_open(session, SYSTEM, credential.station.code, is_open=False)
    session.flush()
    response = client.get(STATUS, headers=credential.headers())
    assert response.status_code == 200, response.text
    assert response.json()["station_open"] is False


def test_uppercase_hex_signatures_are_accepted(client, credential):
    headers = credential.headers()
    headers["X-Signature"] = headers["X-Signature"].upper()
    assert client.get(STATUS, headers=headers).status_code == 200


def test_a_signed_query_string_is_part_of_the_signed_path(client, credential):
    path = f"{STATUS}?probe=1&till=3"
    assert client.get(path, headers=credential.headers(path=path)).status_code == 200


def test_a_percent_encoded_query_is_signed_exactly_as_sent(client, credential):
    path = f"{STATUS}?note=a%20b%2Fc"
    assert client.get(path, headers=credential.headers(path=path)).status_code == 200
    decoded = credential.headers(path=f"{STATUS}?note=a b/c")
    _assert_refused(client.get(path, headers=decoded), "signature_invalid")


def test_nonces_that_differ_only_in_case_are_different_nonces(client, credential):
    assert client.get(STATUS, headers=credential.headers(nonce="CaseNonce-1")).status_code == 200
    assert client.get(STATUS, headers=credential.headers(nonce="casenonce-1")).status_code == 200


def test_each_device_has_its_own_nonce_space(client, session, app, credential):
    other = issue(session, app, station=credential.station)
    nonce = fresh_nonce()
    assert client.get(STATUS, headers=credential.headers(nonce=nonce)).status_code == 200
    assert client.get(STATUS, headers=other.headers(nonce=nonce)).status_code == 200


def test_a_timestamp_just_inside_the_allowed_skew_is_accepted_both_ways(client, credential):
    with time_machine.travel(NOW, tick=False):
        behind = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS - 300))
        ahead = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS + 300))
    assert behind.status_code == 200, behind.text
    assert ahead.status_code == 200, ahead.text


# --- missing and malformed headers -------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-Device-Id", "X-Timestamp", "X-Nonce", "X-Signature"])
def test_a_request_missing_any_signature_header_is_refused(client, session, credential, header):
    before = nonce_count(session)
    headers = credential.headers()
    del headers[header]
    error = _assert_refused(client.get(STATUS, headers=headers), "device_auth_missing")
    assert "X-Signature" in error["message"]
    _assert_nothing_changed(session, credential, before)


def test_an_unsigned_request_is_refused(client):
    _assert_refused(client.get(STATUS), "device_auth_missing")


@pytest.mark.parametrize("header", ["X-Device-Id", "X-Timestamp", "X-Nonce", "X-Signature"])
def test_an_empty_signature_header_counts_as_missing(client, credential, header):
    headers = credential.headers()
    headers[header] = ""
    _assert_refused(client.get(STATUS, headers=headers), "device_auth_missing")


def test_a_staff_token_does_not_open_the_pos_api(client, staff):
    _assert_refused(client.get(STATUS, headers=staff("admin").headers), "device_auth_missing")


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "-1", "1.5", "1e9", "+1763776800", "0x6920", "1763776800000", "17637768 00"],
    ids=["letters", "negative", "fraction", "exponent", "plus", "hex", "milliseconds", "space"],
)
def test_a_timestamp_that_is_not_unix_seconds_is_malformed(client, session, credential, timestamp):
    before = nonce_count(session)
    headers = credential.headers()
    headers["X-Timestamp"] = timestamp
    error = _assert_refused(client.get(STATUS, headers=headers), "device_auth_malformed")
    assert "X-Timestamp" in error["message"]
    _assert_nothing_changed(session, credential, before)


@pytest.mark.parametrize(
    "timestamp", [b"\xb2", b"1763776800\xb9"], ids=["superscript-two", "trailing-superscript-one"]
)
def test_a_timestamp_with_latin1_digit_lookalikes_is_malformed_not_a_server_error(
    app, session, credential, timestamp
):
    """str.isdigit() accepts superscript digits, which int() refuses: a header byte must not crash the API."""
    before = nonce_count(session)
    headers = {name: value.encode() for name, value in credential.headers().items()}
    headers["X-Timestamp"] = timestamp
    _assert_refused(send_raw_headers(app, STATUS, headers), "device_auth_malformed")
    _assert_nothing_changed(session, credential, before)


@pytest.mark.parametrize(
    "nonce",
    ["short", "a" * 65, "has space1", "has.dot12", "slash/1234", "plus+1234"],
    ids=["too-short", "too-long", "space", "dot", "slash", "plus"],
)
def test_a_nonce_outside_the_allowed_alphabet_or_length_is_malformed(client, session, credential, nonce):
    before = nonce_count(session)
    error = _assert_refused(
        client.get(STATUS, headers=credential.headers(nonce=nonce)), "device_auth_malformed"
    )
    assert "X-Nonce" in error["message"]
    _assert_nothing_changed(session, credential, before)


@pytest.mark.parametrize("nonce", ["a" * 8, "Z" * 64, "abc_DEF-123"], ids=["8", "64", "mixed"])
def test_nonces_of_8_to_64_letters_digits_dashes_and_underscores_are_accepted(client, credential, nonce):
    assert client.get(STATUS, headers=credential.headers(nonce=nonce)).status_code == 200


# --- who is calling ----------------------------------------------------------------------------------------


def test_an_unknown_device_is_refused(client, session, credential):
    before = nonce_count(session)
    headers = credential.headers()
    headers["X-Device-Id"] = "dev_0000000000000000"
    _assert_refused(client.get(STATUS, headers=headers), "device_unknown")
    _assert_nothing_changed(session, credential, before)


def test_an_absurdly_long_device_id_is_simply_unknown(client, credential):
    headers = credential.headers()
    headers["X-Device-Id"] = "dev_" + "f" * 300
    _assert_refused(client.get(STATUS, headers=headers), "device_unknown")


def test_a_revoked_device_is_refused_even_when_correctly_signed(client, session, staff, credential):
    response = client.post(f"/api/v1/devices/{credential.device_id}/revoke", headers=staff("admin").headers)
    assert response.status_code == 200, response.text
    before = nonce_count(session)
    _assert_refused(client.get(STATUS, headers=credential.headers()), "device_revoked")
    assert nonce_count(session) == before


# --- the signature -----------------------------------------------------------------------------------------


def test_a_request_signed_with_another_secret_is_refused(client, session, credential):
    before = nonce_count(session)
    headers = credential.headers(secret="not-the-device-secret")
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_request_signed_with_another_devices_secret_is_refused(client, session, app, credential):
    other = issue(session, app, station=credential.station)
    headers = credential.headers(secret=other.secret)
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")


def test_a_signature_for_another_method_is_refused(client, session, credential):
    before = nonce_count(session)
    _assert_refused(client.get(STATUS, headers=credential.headers(method="POST")), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_signature_for_another_path_is_refused(client, session, credential):
    before = nonce_count(session)
    headers = credential.headers(path="/api/v1/pos/identify")
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_an_added_query_string_breaks_the_signature(client, session, credential):
    headers = credential.headers(path=STATUS)
    _assert_refused(client.get(f"{STATUS}?probe=1", headers=headers), "signature_invalid")


def test_a_signature_over_another_body_is_refused(client, session, credential):
    before = nonce_count(session)
    headers = credential.headers(body=b'{"station": "S001"}')
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_body_added_to_a_signed_empty_request_is_refused(client, session, credential):
    headers = credential.headers(body=b"")
    response = client.request("GET", STATUS, headers=headers, content=b'{"tampered": true}')
    _assert_refused(response, "signature_invalid")


def test_a_changed_timestamp_breaks_the_signature(client, session, credential):
    before = nonce_count(session)
    now = int(time.time())
    headers = credential.headers(timestamp=now)
    headers["X-Timestamp"] = str(now - 1)
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_changed_nonce_breaks_the_signature(client, session, credential):
    before = nonce_count(session)
    headers = credential.headers()
    headers["X-Nonce"] = fresh_nonce()
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_truncated_signature_is_refused(client, credential):
    headers = credential.headers()
    headers["X-Signature"] = headers["X-Signature"][:-2]
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")


def test_a_signature_that_is_not_hex_is_refused(client, credential):
    headers = credential.headers()
    headers["X-Signature"] = "z" * 64
    _assert_refused(client.get(STATUS, headers=headers), "signature_invalid")


def test_a_signature_with_non_ascii_bytes_is_refused_not_a_server_error(app, session, credential):
    """hmac.compare_digest raises TypeError on non-ASCII str: an anonymous caller must not cause a 500."""
    before = nonce_count(session)
    headers = {name: value.encode() for name, value in credential.headers().items()}
    headers["X-Signature"] = b"\xe9" * 64
    _assert_refused(send_raw_headers(app, STATUS, headers), "signature_invalid")
    _assert_nothing_changed(session, credential, before)


def test_a_bad_signature_does_not_burn_the_nonce(client, session, credential):
    nonce = fresh_nonce()
    forged = credential.headers(nonce=nonce, secret="a-guessed-secret")
    _assert_refused(client.get(STATUS, headers=forged), "signature_invalid")
    assert nonces_of(session, credential.device_id) == []

    genuine = client.get(STATUS, headers=credential.headers(nonce=nonce))
    assert genuine.status_code == 200, genuine.text
    assert nonces_of(session, credential.device_id) == [nonce]


# --- freshness ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offset", [-301, 301, -86_400, 86_400], ids=["past", "future", "a-day-old", "a-day-ahead"]
)
def test_a_timestamp_beyond_the_allowed_skew_is_refused(client, session, credential, offset):
    before = nonce_count(session)
    with time_machine.travel(NOW, tick=False):
        response = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS + offset))
    error = _assert_refused(response, "timestamp_skew")
    assert error["details"] == {"server_time": NOW_TS, "max_skew_seconds": 300}
    _assert_nothing_changed(session, credential, before)


def test_a_request_held_back_longer_than_the_skew_is_refused_when_it_arrives(client, session, credential):
    headers = credential.headers(timestamp=NOW_TS)
    with time_machine.travel(NOW.timestamp() + 301, tick=False):
        response = client.get(STATUS, headers=headers)
    _assert_refused(response, "timestamp_skew")


def test_the_allowed_skew_follows_the_setting(database, test_settings, session):
    settings = test_settings.model_copy(update={"device_clock_skew_seconds": 30})
    app = create_app(settings, database=database)
    credential = issue(session, app)
    with TestClient(app, raise_server_exceptions=False) as client, time_machine.travel(NOW, tick=False):
        inside = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS - 30))
        outside = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS - 31))
    assert inside.status_code == 200, inside.text
    error = _assert_refused(outside, "timestamp_skew")
    assert error["details"]["max_skew_seconds"] == 30


# --- replay ------------------------------------------------------------------------------------------------


def test_a_replayed_request_is_refused(client, session, credential):
    headers = credential.headers()
    first = client.get(STATUS, headers=headers)
    assert first.status_code == 200, first.text
    _assert_refused(client.get(STATUS, headers=headers), "nonce_replayed")
    assert nonces_of(session, credential.device_id) == [headers["X-Nonce"]]


def test_a_reused_nonce_with_a_new_timestamp_and_signature_is_still_a_replay(client, credential):
    nonce = fresh_nonce()
    with time_machine.travel(NOW, tick=False):
        assert (
            client.get(STATUS, headers=credential.headers(timestamp=NOW_TS, nonce=nonce)).status_code == 200
        )
    with time_machine.travel(NOW.timestamp() + 120, tick=False):
        again = client.get(STATUS, headers=credential.headers(timestamp=NOW_TS + 120, nonce=nonce))
    _assert_refused(again, "nonce_replayed")


def test_a_replayed_request_does_not_move_last_seen(client, session, credential):
    headers = credential.headers(timestamp=NOW_TS)
    with time_machine.travel(NOW, tick=False):
        assert client.get(STATUS, headers=headers).status_code == 200
    seen = device_row(session, credential.device_id)["last_seen_at"]
    with time_machine.travel(NOW.timestamp() + 120, tick=False):
        _assert_refused(client.get(STATUS, headers=headers), "nonce_replayed")
    assert device_row(session, credential.device_id)["last_seen_at"] == seen


def test_the_signature_helper_matches_the_published_formula(credential):
    headers = credential.headers(timestamp=NOW_TS, nonce="abcdefgh")
    assert headers["X-Signature"] == sign(credential.secret, "GET", STATUS, str(NOW_TS), "abcdefgh", b"")
    assert headers["X-Timestamp"] == str(NOW_TS)
    assert headers["X-Device-Id"] == credential.device_id
