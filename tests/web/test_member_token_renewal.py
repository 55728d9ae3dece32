"""A driver's expired access token is renewed from the cookie's refresh token, on the real database
(no test transaction around it: on SQLite the renewal must not wait for the request's own lock)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.clock import utcnow
from forecourt.members.models import MemberToken
from tests.members.support import last_code, unique_phone
from tests.web.support import post_form

pytestmark = pytest.mark.committed


@pytest.fixture
def driver_client(committed_database: Database, test_settings: Settings) -> Iterator[TestClient]:
    app = create_app(test_settings, database=committed_database)
    phone = unique_phone()
    with TestClient(app) as client:
        assert post_form(client, "/m/login/code", {"phone": phone}).status_code == 200
        with committed_database.session(write=False) as session:
            code = last_code(session, app.state.pii, phone)
        signed_in = post_form(client, "/m/login", {"phone": phone, "code": code}, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        yield client


def _live_tokens(database: Database) -> int:
    with database.session(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(MemberToken).where(MemberToken.revoked_at.is_(None))
            )
            or 0
        )


def test_after_the_access_token_expires_pages_and_forms_still_work(
    driver_client: TestClient, committed_database: Database, test_settings: Settings
) -> None:
    later = utcnow() + timedelta(minutes=test_settings.member_access_ttl_minutes + 1)
    with time_machine.travel(later, tick=True):
        page = driver_client.get("/m", follow_redirects=False)
        assert page.status_code == 200, page.text[:300]
        with time_machine.travel(later + timedelta(minutes=test_settings.member_access_ttl_minutes + 1)):
            csrf = driver_client.get("/m/profile").text.split('name="csrf-token" content="')[1].split('"')[0]
            saved = driver_client.post(
                "/m/profile/plates", data={"csrf_token": csrf, "plate": "云A12345"}, follow_redirects=False
            )
    assert saved.status_code < 500, saved.text[:300]
    assert "member_token_invalid" not in saved.text
    assert _live_tokens(committed_database) == 1


def test_requests_racing_with_one_expired_cookie_do_not_sign_the_driver_out(
    driver_client: TestClient, committed_database: Database, test_settings: Settings
) -> None:
    later = utcnow() + timedelta(minutes=test_settings.member_access_ttl_minutes + 1)
    cookies = dict(driver_client.cookies)
    app = driver_client.app

    def open_card(_: int) -> int:
        with TestClient(app, cookies=cookies) as racer:
            return racer.get("/m/code", follow_redirects=False).status_code

    with time_machine.travel(later, tick=True), ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(open_card, range(4)))
    assert statuses == [200, 200, 200, 200]
    assert _live_tokens(committed_database) == 1  # renewed once, not every session ended
