"""Engine and column-type guarantees on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from forecourt.audit.models import AuditEntry
from forecourt.db.session import ReadOnlySessionError
from forecourt.kit.ids import new_id


def test_engine_is_configured_for_its_database(engine, db_kind):
    """SQLite: WAL, foreign keys, busy timeout. PostgreSQL: psycopg 3, read committed, a pool."""
    with engine.connect() as connection:
        if db_kind == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        else:
            assert engine.dialect.driver == "psycopg"
            assert connection.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
            assert engine.pool.size() >= 5  # type: ignore[attr-defined]


def _entry(moment: datetime) -> AuditEntry:
    return AuditEntry(
        id=new_id(), occurred_at=moment, actor_kind="system", actor_label="t", action="a", entity_type="e"
    )


def test_a_savepoint_rolls_back_alone(session):
    before = set(session.scalars(select(AuditEntry.id)).all())  # migrate's own audit rows
    outer = _entry(datetime.now(UTC))
    session.add(outer)
    session.flush()
    with pytest.raises(RuntimeError), session.begin_nested():
        session.add(_entry(datetime.now(UTC)))
        session.flush()
        raise RuntimeError("undo the inner work only")
    ids = [i for i in session.scalars(select(AuditEntry.id)).all() if i not in before]
    assert ids == [outer.id]


def test_timestamps_come_back_aware_in_utc(session):
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 30, 23, 30, tzinfo=beijing)
    entry = _entry(moment)
    session.add(entry)
    session.flush()
    session.expire_all()
    stored = session.get_one(AuditEntry, entry.id).occurred_at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == moment


def test_naive_timestamps_are_refused(session):
    session.add(_entry(datetime(2026, 11, 30, 12, 0)))  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_a_read_only_session_refuses_to_write(database):
    read = database.session(write=False)
    read.add(_entry(datetime.now(UTC)))
    with pytest.raises(ReadOnlySessionError):
        read.flush()
    read.close()


def test_the_database_answers(session):
    assert session.execute(text("SELECT 1")).scalar() == 1
