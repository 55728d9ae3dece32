"""Two admins racing to create the same username: one account, one clean 409, never a 500."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.auth.models import StaffUser
from tests.fixtures.builders import PASSWORD, make_staff


@pytest.mark.committed
def test_two_simultaneous_creations_of_one_username_give_one_201_and_one_409(
    committed_database, test_settings
):
    with committed_database.transaction() as session:
        admin = make_staff(session, "admin")
    app = create_app(test_settings, database=committed_database)
    barrier = threading.Barrier(2, timeout=10)
    responses = []

    def create() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            responses.append(
                client.post(
                    "/api/v1/staff",
                    json={"username": "race.winner", "password": PASSWORD, "role": "finance"},
                    headers=admin.headers,
                )
            )

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    answers = sorted((r.status_code, r.json().get("error", {}).get("code")) for r in responses)
    assert answers == [(201, None), (409, "username_taken")]
    with committed_database.transaction(write=False) as session:
        count = session.scalar(select(func.count()).where(StaffUser.username == "race.winner"))
    assert count == 1
