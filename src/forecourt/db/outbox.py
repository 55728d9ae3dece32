"""The transactional outbox: cross-context side effects, delivered after commit.

``publish`` writes an event row in the caller's transaction, so the event exists if and only if the
change that caused it was committed. ``dispatch_due`` later hands each event to every in-process
handler subscribed to its topic, each handler in its own transaction together with a delivery row:
a handler's effects and the record that it ran commit together, so a retried event never runs a
handler twice (exactly-once effects inside the database). Failures are retried with exponential
backoff; after ``max_attempts`` the event is parked as failed for an operator to look at.

Dispatchers claim events with a conditional UPDATE (``locked_until``), so several processes may
dispatch at once; events of one topic are not ordered relative to each other.
"""

from __future__ import annotations

import importlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ForeignKey, Index, String, Text, and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from forecourt.db.base import Base
from forecourt.db.session import Database
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id

log = structlog.get_logger(__name__)

CLAIM_SECONDS = 60
MAX_ATTEMPTS = 10


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """Publishing twice with the same key records one event (jobs that may re-run use it)."""
    occurred_at: Mapped[datetime]
    available_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    lock_token: Mapped[uuid.UUID | None]
    dispatched_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_outbox_events_due",
            "available_at",
            postgresql_where=text("dispatched_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_outbox_events_lock_token", "lock_token"),
    )


class OutboxDelivery(Base):
    __tablename__ = "outbox_deliveries"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), primary_key=True
    )
    handler: Mapped[str] = mapped_column(String(200), primary_key=True)
    delivered_at: Mapped[datetime]


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime


Handler = Callable[[Session, Event], None]


@dataclass
class _Subscription:
    name: str
    handler: Handler


_subscriptions: dict[str, list[_Subscription]] = {}
SUBSCRIBER_MODULES = (
    "forecourt.rules.rewards",
    "forecourt.coupons.issuance",
    "forecourt.invoices.subscribers",
)
"""Modules whose import subscribes handlers (imported before the first dispatch)."""


def _import_subscribers() -> None:
    for module in SUBSCRIBER_MODULES:
        importlib.import_module(module)


def subscribe(topic: str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register an in-process handler for a topic. The name identifies deliveries; keep it stable."""

    def register(handler: Handler) -> Handler:
        handler_name = name or f"{handler.__module__}.{handler.__qualname__}"
        existing = _subscriptions.setdefault(topic, [])
        if all(sub.name != handler_name for sub in existing):
            existing.append(_Subscription(handler_name, handler))
        return handler

    return register


def unsubscribe(topic: str, name: str) -> None:
    _subscriptions[topic] = [sub for sub in _subscriptions.get(topic, []) if sub.name != name]


def publish(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    occurred_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> uuid.UUID:
    """Record an event in the caller's transaction; it is dispatched only if that transaction commits.
    With a ``dedupe_key`` an event already published under that key is not published again."""
    moment = occurred_at or utcnow()
    event = OutboxEvent(
        id=new_id(),
        topic=topic,
        payload=payload,
        dedupe_key=dedupe_key,
        occurred_at=moment,
        available_at=utcnow(),
        attempts=0,
    )
    if dedupe_key is not None:
        dialect_insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        statement = (
            dialect_insert(OutboxEvent)
            .values(
                id=event.id,
                topic=topic,
                payload=payload,
                dedupe_key=dedupe_key,
                occurred_at=moment,
                available_at=event.available_at,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxEvent.id)
        )
        if session.execute(statement).scalar() is None:
            existing = session.scalar(select(OutboxEvent.id).where(OutboxEvent.dedupe_key == dedupe_key))
            return existing or event.id
    else:
        session.add(event)
    session.info["outbox_published"] = True
    return event.id


@dataclass
class DispatchReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _due(now: datetime) -> Any:
    return and_(
        OutboxEvent.dispatched_at.is_(None),
        OutboxEvent.failed_at.is_(None),
        OutboxEvent.available_at <= now,
        or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until < now),
    )


def _claim(database: Database, now: datetime, batch: int) -> list[Event]:
    token = new_id()

    def claim(session: Session) -> list[Event]:
        candidates = select(OutboxEvent.id).where(_due(now)).order_by(OutboxEvent.available_at).limit(batch)
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(candidates.scalar_subquery()), _due(now))
            .values(locked_until=now + timedelta(seconds=CLAIM_SECONDS), lock_token=token)
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.lock_token == token)).all()
        return [Event(row.id, row.topic, dict(row.payload), row.occurred_at) for row in rows]

    return database.run(claim)


def _deliver(database: Database, event: Event, subscription: _Subscription) -> None:
    def work(session: Session) -> None:
        subscription.handler(session, event)
        session.add(OutboxDelivery(event_id=event.id, handler=subscription.name, delivered_at=utcnow()))
        session.flush()

    try:
        database.run(work)
    except IntegrityError:
        # Another dispatcher delivered it first; our copy of the effects was rolled back.
        log.info("outbox_duplicate_delivery_skipped", event_id=str(event.id), handler=subscription.name)


def _dispatch_one(
    database: Database, event: Event, now: datetime, max_attempts: int, report: DispatchReport
) -> None:
    subscriptions = _subscriptions.get(event.topic, [])
    delivered = set(
        database.run(
            lambda s: s.scalars(
                select(OutboxDelivery.handler).where(OutboxDelivery.event_id == event.id)
            ).all(),
            write=False,
        )
    )
    errors: list[str] = []
    for subscription in subscriptions:
        if subscription.name in delivered:
            continue
        try:
            _deliver(database, event, subscription)
        except Exception as exc:
            log.exception(
                "outbox_handler_failed", event_id=str(event.id), topic=event.topic, handler=subscription.name
            )
            errors.append(f"{subscription.name}: {type(exc).__name__}: {exc}")

    def finish(session: Session) -> None:
        row = session.get_one(OutboxEvent, event.id)
        row.locked_until = None
        row.lock_token = None
        if not errors:
            row.dispatched_at = utcnow()
            report.delivered += 1
            return
        row.attempts += 1
        row.last_error = "\n".join(errors)[:4000]
        report.errors.extend(errors)
        if row.attempts >= max_attempts:
            row.failed_at = utcnow()
            report.failed += 1
        else:
            row.available_at = now + timedelta(seconds=min(3600, 2**row.attempts))
            report.retried += 1

    database.run(finish)


def dispatch_due(
    database: Database, *, now: datetime | None = None, batch: int = 100, max_attempts: int = MAX_ATTEMPTS
) -> DispatchReport:
    """Dispatch every event due at ``now``; returns what happened."""
    _import_subscribers()
    report = DispatchReport()
    moment = now or utcnow()
    while True:
        events = _claim(database, moment, batch)
        unheard = [event.id for event in events if not _subscriptions.get(event.topic)]
        if unheard:
            _finish_unheard(database, unheard)
            report.delivered += len(unheard)
        for event in events:
            if _subscriptions.get(event.topic):
                _dispatch_one(database, event, moment, max_attempts, report)
        if len(events) < batch:
            return report


def _finish_unheard(database: Database, event_ids: list[uuid.UUID]) -> None:
    """Events no handler in this process listens to (``transaction.completed`` until a relay or a
    report subscribes) are marked dispatched together: one write for the batch, not three per event."""

    def finish(session: Session) -> None:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids))
            .values(dispatched_at=utcnow(), locked_until=None, lock_token=None)
            .execution_options(synchronize_session=False)
        )

    database.run(finish)


class OutboxWorker:
    """Dispatches in a background thread of the API process; woken right after a commit that published."""

    def __init__(
        self, database: Database, *, poll_seconds: float = 2.0, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self._database = database
        self._poll_seconds = poll_seconds
        self._max_attempts = max_attempts
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._database.after_commit_hooks.append(self._on_commit)
        self._thread = threading.Thread(target=self._loop, name="outbox-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._on_commit in self._database.after_commit_hooks:
            self._database.after_commit_hooks.remove(self._on_commit)

    def _on_commit(self, session: Session) -> None:
        if session.info.pop("outbox_published", False):
            self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                dispatch_due(self._database, max_attempts=self._max_attempts)
            except Exception:
                log.exception("outbox_dispatch_failed")
