"""One request = one transaction, committed before the response is sent.

These tests commit for real (``committed``): a tiny app on the production ``TransactionalRoute``
writes audit rows, and the tests look at what the database kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.audit.models import AuditEntry
from forecourt.db.session import Database, api_router, get_session
from forecourt.errors import Conflict, install_error_handlers
from forecourt.kit.actor import SYSTEM
from forecourt.kit.request_context import RequestContextMiddleware

pytestmark = pytest.mark.committed


class _SerializationFailure(Exception):
    sqlstate = "40001"


class _Deadlock(Exception):
    sqlstate = "40P01"


RETRYABLE = {"serialization-failure": _SerializationFailure, "deadlock": _Deadlock}


class FlakyDatabase(Database):
    """Sessions whose commit fails while ``fail_commits`` is set."""

    fail_commits = False

    def session(self, *, write: bool = True) -> Session:
        session = super().session(write=write)
        if self.fail_commits:
            event.listen(session, "before_commit", self._fail)
        return session

    @staticmethod
    def _fail(_session: Session) -> None:
        raise RuntimeError("the disk is full")


@pytest.fixture
def flaky(committed_database: Database) -> FlakyDatabase:
    return FlakyDatabase(committed_database.engine)


@pytest.fixture
def harness(flaky: FlakyDatabase) -> Iterator[tuple[TestClient, dict[str, int]]]:
    calls = dict.fromkeys(RETRYABLE, 0)
    router = api_router()

    def write(session: Session, action: str) -> None:
        audit.record(session, SYSTEM, action, "probe", None)
        session.flush()

    @router.post("/ok")
    def ok(session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
        write(session, "ok")
        return {"status": "done"}

    @router.post("/fails-after-writing")
    def fails(session: Annotated[Session, Depends(get_session)]) -> None:
        write(session, "fails")
        raise Conflict("changed my mind")

    @router.post("/{failure}-once")
    def retried(failure: str, session: Annotated[Session, Depends(get_session)]) -> dict[str, int]:
        calls[failure] += 1
        write(session, failure)
        if calls[failure] == 1:
            raise OperationalError("UPDATE …", {}, RETRYABLE[failure]())
        return {"attempts": calls[failure]}

    @router.get("/writes-in-a-get")
    def writes_in_get(session: Annotated[Session, Depends(get_session)]) -> None:
        write(session, "get")

    app = FastAPI()
    app.state.database = flaky
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, calls


def _count(database: Database, action: str) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0)


def test_a_successful_request_is_committed_before_it_is_answered(harness, flaky):
    client, _ = harness
    assert client.post("/ok").status_code == 200
    assert _count(flaky, "ok") == 1


def test_an_error_rolls_back_everything_the_request_wrote(harness, flaky):
    client, _ = harness
    response = client.post("/fails-after-writing")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert _count(flaky, "fails") == 0


def test_a_commit_that_fails_is_never_acknowledged(harness, flaky):
    client, _ = harness
    flaky.fail_commits = True
    response = client.post("/ok")
    flaky.fail_commits = False
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert _count(flaky, "ok") == 0


@pytest.mark.parametrize("failure", list(RETRYABLE), ids=["40001", "40P01"])
def test_a_serialization_failure_or_deadlock_reruns_the_whole_request(harness, flaky, failure):
    client, _calls = harness
    response = client.post(f"/{failure}-once")
    assert response.status_code == 200
    assert response.json() == {"attempts": 2}
    assert _count(flaky, failure) == 1  # the first attempt's write was rolled back


def test_a_get_request_cannot_write(harness, flaky):
    client, _ = harness
    assert client.get("/writes-in-a-get").status_code == 500
    assert _count(flaky, "get") == 0


def test_concurrent_writers_all_commit(committed_database):
    """SQLite writers queue on BEGIN IMMEDIATE and the busy timeout; PostgreSQL runs them in parallel."""
    threads, per_thread = 8, 15
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for step in range(per_thread):
                committed_database.run(
                    lambda s, i=index, n=step: audit.record(s, SYSTEM, "concurrent", "probe", f"{i}-{n}")
                )
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert _count(committed_database, "concurrent") == threads * per_thread
