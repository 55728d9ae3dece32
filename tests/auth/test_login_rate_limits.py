"""Failed logins are limited per username and per client IP on a moving window (brute-force defence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from forecourt.app import create_app
from tests.fixtures.builders import PASSWORD

LOGIN = "/api/v1/auth/login"


def _login(client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, json={"username": username, "password": password})


def _fail(client, username: str, times: int) -> None:
    for attempt in range(times):
        response = _login(client, username, "not-the-password")
        assert response.status_code == 401, (attempt, response.text)
        assert response.json()["error"]["code"] == "invalid_credentials"


def _assert_locked_out(response, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_login_attempts"
    assert "access_token" not in response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window_seconds
    assert error["details"]["retry_after"] == retry_after


@pytest.fixture
def small_limits_client(database, test_settings):
    """An app allowing 3 failures per username and 4 per client IP in a 60-second window."""
    settings = test_settings.model_copy(
        update={
            "login_max_failures_per_user": 3,
            "login_max_failures_per_ip": 4,
            "login_failure_window_seconds": 60,
        }
    )
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as client:
        yield client


def test_the_default_limits_are_five_per_user_and_thirty_per_ip_in_fifteen_minutes(app):
    settings = app.state.settings
    assert settings.login_max_failures_per_user == 5
    assert settings.login_max_failures_per_ip == 30
    assert settings.login_failure_window_seconds == 15 * 60


def test_five_failed_logins_lock_the_username_even_against_the_right_password(client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 5)
    _assert_locked_out(_login(client, user.username), 15 * 60)


def test_four_failed_logins_do_not_lock_the_username(client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 4)
    assert _login(client, user.username).status_code == 200


def test_a_locked_username_stays_locked_and_blocked_attempts_do_not_count(client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 5)
    for _ in range(3):
        _assert_locked_out(_login(client, user.username, "not-the-password"), 15 * 60)
    _assert_locked_out(_login(client, user.username), 15 * 60)


def test_the_lock_is_the_same_for_every_spelling_of_the_username(client, staff):
    user = staff("marketing", username="chen.jie").user
    _fail(client, "CHEN.JIE", 2)
    _fail(client, "Chen.Jie", 2)
    _fail(client, " chen.jie ", 1)
    _assert_locked_out(_login(client, user.username), 15 * 60)


def test_unknown_usernames_are_locked_the_same_way_so_the_lock_reveals_nothing(client):
    _fail(client, "no-such-person", 5)
    _assert_locked_out(_login(client, "no-such-person"), 15 * 60)


def test_one_locked_username_does_not_lock_the_others(client, staff):
    victim = staff("marketing").user
    colleague = staff("marketing").user
    _fail(client, victim.username, 5)
    assert _login(client, colleague.username).status_code == 200


def test_a_locked_username_cannot_be_unlocked_from_another_ip(client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 5)
    with TestClient(client.app, raise_server_exceptions=False, client=("203.0.113.9", 40000)) as other_ip:
        _assert_locked_out(_login(other_ip, user.username), 15 * 60)


def test_a_successful_login_before_the_limit_resets_the_count_for_that_username(client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 4)
    assert _login(client, user.username).status_code == 200
    _fail(client, user.username, 5)  # five fresh failures are allowed again
    _assert_locked_out(_login(client, user.username), 15 * 60)


def test_the_lock_lifts_once_the_window_has_passed(client, staff):
    user = staff("marketing").user
    started = datetime.now(UTC)
    with time_machine.travel(started, tick=False):
        _fail(client, user.username, 5)
        _assert_locked_out(_login(client, user.username), 15 * 60)
    with time_machine.travel(started + timedelta(minutes=14), tick=False):
        _assert_locked_out(_login(client, user.username), 15 * 60)
    with time_machine.travel(started + timedelta(minutes=15, seconds=1), tick=False):
        assert _login(client, user.username).status_code == 200


def test_the_retry_after_header_counts_down_to_the_end_of_the_window(client, staff):
    user = staff("marketing").user
    started = datetime.now(UTC)
    with time_machine.travel(started, tick=False):
        _fail(client, user.username, 5)
    with time_machine.travel(started + timedelta(minutes=10), tick=False):
        response = _login(client, user.username)
    assert response.status_code == 429
    assert 4 * 60 <= int(response.headers["Retry-After"]) <= 5 * 60 + 1


def test_the_configured_per_user_limit_applies(small_limits_client, staff):
    user = staff("marketing").user
    _fail(small_limits_client, user.username, 3)
    _assert_locked_out(_login(small_limits_client, user.username), 60)


def test_failures_across_different_usernames_from_one_ip_lock_that_ip(small_limits_client, staff):
    user = staff("marketing").user
    for name in ("guess-1", "guess-2", "guess-3", "guess-4"):
        _fail(small_limits_client, name, 1)
    _assert_locked_out(_login(small_limits_client, user.username), 60)
    _assert_locked_out(_login(small_limits_client, "guess-5", "whatever-pass"), 60)


def test_a_locked_ip_does_not_lock_other_ips(small_limits_client, staff):
    user = staff("marketing").user
    for name in ("guess-1", "guess-2", "guess-3", "guess-4"):
        _fail(small_limits_client, name, 1)
    with TestClient(
        small_limits_client.app, raise_server_exceptions=False, client=("198.51.100.7", 40000)
    ) as elsewhere:
        assert _login(elsewhere, user.username).status_code == 200


def test_a_successful_login_does_not_reset_the_per_ip_count(small_limits_client, staff):
    user = staff("marketing").user
    _fail(small_limits_client, "guess-1", 1)
    _fail(small_limits_client, "guess-2", 1)
    _fail(small_limits_client, "guess-3", 1)
    assert _login(small_limits_client, user.username).status_code == 200
    _fail(small_limits_client, "guess-4", 1)
    _assert_locked_out(_login(small_limits_client, user.username), 60)


def test_each_app_has_its_own_login_guard(database, test_settings, client, staff):
    user = staff("marketing").user
    _fail(client, user.username, 5)
    with TestClient(create_app(test_settings, database=database), raise_server_exceptions=False) as fresh:
        assert _login(fresh, user.username).status_code == 200
    assert client.app.state.login_guard is not fresh.app.state.login_guard
