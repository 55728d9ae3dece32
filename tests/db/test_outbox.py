"""The outbox: events exist only if their transaction committed, and each handler runs once per event."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.audit.models import AuditEntry
from forecourt.db import outbox
from forecourt.db.outbox import Event, OutboxDelivery, OutboxEvent, OutboxWorker, dispatch_due, publish
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow

TOPIC = "test.something_happened"


@pytest.fixture
def subscribe() -> Iterator[callable]:
    names: list[str] = []

    def register(name: str, handler) -> None:
        outbox.subscribe(TOPIC, name)(handler)
        names.append(name)

    yield register
    for name in names:
        outbox.unsubscribe(TOPIC, name)


def _events(session: Session) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.topic == TOPIC)))


def test_an_event_published_in_a_rolled_back_transaction_never_exists(database, session):
    with pytest.raises(RuntimeError), database.transaction() as inner:
        publish(inner, TOPIC, {"n": 1})
        raise RuntimeError("the change failed")
    assert _events(session) == []


def test_each_handler_runs_once_and_records_its_delivery(database, session, subscribe):
    seen: list[dict] = []

    def handler(s: Session, event: Event) -> None:
        seen.append(event.payload)
        audit.record(s, SYSTEM, "handled", "event", event.id)

    subscribe("first", handler)
    subscribe("second", lambda s, e: seen.append({"second": e.payload["n"]}))
    with database.transaction() as inner:
        event_id = publish(inner, TOPIC, {"n": 7})

    report = dispatch_due(database)
    assert report.delivered == 1
    assert seen == [{"n": 7}, {"second": 7}]
    assert dispatch_due(database).delivered == 0  # nothing is delivered twice
    assert seen == [{"n": 7}, {"second": 7}]
    deliveries = session.scalars(
        select(OutboxDelivery.handler).where(OutboxDelivery.event_id == event_id)
    ).all()
    assert sorted(deliveries) == ["first", "second"]
    assert session.scalar(select(func.count()).where(AuditEntry.action == "handled")) == 1
    assert _events(session)[0].dispatched_at is not None


def test_a_failing_handler_is_retried_later_without_rerunning_the_others(database, session, subscribe):
    calls = {"steady": 0, "flaky": 0}

    def steady(s: Session, e: Event) -> None:
        calls["steady"] += 1

    def flaky(s: Session, e: Event) -> None:
        calls["flaky"] += 1
        audit.record(s, SYSTEM, "flaky-effect", "event", e.id)
        if calls["flaky"] == 1:
            raise ConnectionError("the SMS gateway is down")

    subscribe("steady", steady)
    subscribe("flaky", flaky)
    with database.transaction() as inner:
        publish(inner, TOPIC, {})

    now = utcnow()
    first = dispatch_due(database, now=now)
    assert (first.delivered, first.retried) == (0, 1)
    event = _events(session)[0]
    session.refresh(event)
    assert event.attempts == 1
    assert "SMS gateway" in (event.last_error or "")
    assert event.available_at > now
    # The failed attempt's effects were rolled back with it.
    assert session.scalar(select(func.count()).where(AuditEntry.action == "flaky-effect")) == 0

    assert dispatch_due(database, now=now).delivered == 0  # not due yet
    second = dispatch_due(database, now=now + timedelta(minutes=5))
    assert second.delivered == 1
    assert calls == {"steady": 1, "flaky": 2}
    assert session.scalar(select(func.count()).where(AuditEntry.action == "flaky-effect")) == 1


def test_an_event_that_keeps_failing_is_parked_after_the_last_attempt(database, session, subscribe):
    def broken(s: Session, e: Event) -> None:
        raise ValueError("bad payload")

    subscribe("broken", broken)
    with database.transaction() as inner:
        publish(inner, TOPIC, {})
    moment = utcnow()
    for _ in range(3):
        moment += timedelta(hours=2)
        dispatch_due(database, now=moment, max_attempts=3)
    event = _events(session)[0]
    session.refresh(event)
    assert event.attempts == 3
    assert event.failed_at is not None
    assert event.dispatched_at is None
    assert dispatch_due(database, now=moment + timedelta(days=1), max_attempts=3).retried == 0


def test_an_event_nobody_subscribes_to_is_simply_marked_dispatched(database, session):
    with database.transaction() as inner:
        publish(inner, TOPIC, {})
    assert dispatch_due(database).delivered == 1


@pytest.mark.committed
def test_concurrent_dispatchers_deliver_each_event_exactly_once(committed_database, subscribe):
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def count(s: Session, e: Event) -> None:
        with lock:
            counts[e.payload["n"]] = counts.get(e.payload["n"], 0) + 1

    subscribe("counter", count)
    with committed_database.transaction() as session:
        for n in range(60):
            publish(session, TOPIC, {"n": str(n)})

    threads = [
        threading.Thread(target=dispatch_due, args=(committed_database,), kwargs={"batch": 7})
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dispatch_due(committed_database)
    assert counts == {str(n): 1 for n in range(60)}


@pytest.mark.committed
def test_the_background_worker_delivers_right_after_commit(committed_database, subscribe):
    delivered = threading.Event()
    subscribe("signal", lambda s, e: delivered.set())
    worker = OutboxWorker(committed_database, poll_seconds=60)
    worker.start()
    try:
        with committed_database.transaction() as session:
            publish(session, TOPIC, {})
        assert delivered.wait(timeout=10), "the worker was not woken by the commit"
    finally:
        worker.stop()
