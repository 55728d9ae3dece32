"""The `purge-device-nonces` job forgets nonces too old to be replayed, and only those.

A nonce must be kept while a request carrying it could still pass the skew check: with the default
300 s skew that is 2 × 300 s + 60 s = 660 s after it was seen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from forecourt.app import create_app
from forecourt.jobs.models import JobRun
from forecourt.jobs.registry import run_job
from tests.devices.support import STATUS, error_of, fresh_nonce, issue, nonce_count, nonces_of

AT = datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC)


def _use_nonce(client, credential, moment: datetime, nonce: str | None = None) -> dict[str, str]:
    """A signed request sent (and accepted) at ``moment``; returns its headers."""
    headers = credential.headers(timestamp=int(moment.timestamp()), nonce=nonce or fresh_nonce())
    with time_machine.travel(moment, tick=False):
        response = client.get(STATUS, headers=headers)
    assert response.status_code == 200, response.text
    return headers


def test_the_job_deletes_old_nonces_and_keeps_recent_ones(
    client, session, database, test_settings, credential
):
    old = _use_nonce(client, credential, AT - timedelta(hours=2), "old-nonce-1")
    stale = _use_nonce(client, credential, AT - timedelta(seconds=661), "stale-nonce")
    edge = _use_nonce(client, credential, AT - timedelta(seconds=660), "edge-nonce")
    recent = _use_nonce(client, credential, AT - timedelta(seconds=10), "recent-nonce")

    result = run_job(database, test_settings, "purge-device-nonces", AT)

    assert result == {"deleted": 2}
    assert nonces_of(session, credential.device_id) == sorted([edge["X-Nonce"], recent["X-Nonce"]])
    assert old["X-Nonce"] not in nonces_of(session, credential.device_id)
    assert stale["X-Nonce"] not in nonces_of(session, credential.device_id)


def test_the_job_purges_the_nonces_of_every_device(client, session, app, database, test_settings, credential):
    other = issue(session, app)
    _use_nonce(client, credential, AT - timedelta(hours=1))
    _use_nonce(client, other, AT - timedelta(hours=1))
    kept = _use_nonce(client, other, AT - timedelta(seconds=30))

    assert run_job(database, test_settings, "purge-device-nonces", AT) == {"deleted": 2}
    assert nonces_of(session, credential.device_id) == []
    assert nonces_of(session, other.device_id) == [kept["X-Nonce"]]


def test_running_the_job_again_for_the_same_moment_deletes_nothing_more(
    client, session, database, test_settings, credential
):
    _use_nonce(client, credential, AT - timedelta(hours=1))
    assert run_job(database, test_settings, "purge-device-nonces", AT) == {"deleted": 1}
    assert run_job(database, test_settings, "purge-device-nonces", AT) == {"deleted": 0}


def test_a_purged_nonce_still_cannot_be_replayed_because_its_timestamp_is_stale(
    client, session, database, test_settings, credential
):
    headers = _use_nonce(client, credential, AT - timedelta(seconds=661))
    assert run_job(database, test_settings, "purge-device-nonces", AT) == {"deleted": 1}
    with time_machine.travel(AT, tick=False):
        replay = client.get(STATUS, headers=headers)
    assert replay.status_code == 401
    assert error_of(replay)["code"] == "timestamp_skew"


def test_the_job_run_is_logged_with_its_result(client, session, database, test_settings, credential):
    _use_nonce(client, credential, AT - timedelta(hours=1))
    run_job(database, test_settings, "purge-device-nonces", AT)
    run = session.scalars(select(JobRun).where(JobRun.name == "purge-device-nonces")).one()
    assert run.status == "succeeded"
    assert run.at == AT
    assert run.result == {"deleted": 1}
    assert run.finished_at is not None


def test_the_job_runs_as_of_now_by_default(client, session, database, test_settings, credential):
    with time_machine.travel(AT, tick=False):
        _use_nonce(client, credential, AT - timedelta(hours=1))
        _use_nonce(client, credential, AT - timedelta(seconds=5))
        assert run_job(database, test_settings, "purge-device-nonces") == {"deleted": 1}
    assert nonce_count(session) == 1


def test_the_retention_follows_the_skew_setting(database, session, test_settings):
    settings = test_settings.model_copy(update={"device_clock_skew_seconds": 30})
    app = create_app(settings, database=database)
    credential = issue(session, app)
    with TestClient(app, raise_server_exceptions=False) as client:
        _use_nonce(client, credential, AT - timedelta(seconds=121), "outside-120")
        _use_nonce(client, credential, AT - timedelta(seconds=119), "inside-120")
    # 2 × 30 s + 60 s = 120 s
    assert run_job(database, settings, "purge-device-nonces", AT) == {"deleted": 1}
    assert nonces_of(session, credential.device_id) == ["inside-120"]
