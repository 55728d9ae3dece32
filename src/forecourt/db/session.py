"""Sessions and transactions.

One request = one transaction. ``TransactionalRoute`` opens the request's session, runs the handler,
and commits *before* the response is sent (FastAPI runs the exit code of ``yield`` dependencies only
after sending, which would acknowledge work that might still fail to commit). Any exception rolls
back. Serialization failures and deadlocks (PostgreSQL 40001/40P01, SQLite busy) re-run the whole
handler a few times. Services never commit.

GET and HEAD requests get a read-only session: flushing in one is a bug and raises.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from forecourt.db.engine import is_sqlite

log = structlog.get_logger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
SCRUB_JOURNAL = "scrub_journal"
"""Set in ``session.info`` by a transaction that erased personal data (see ``notify_committed``)."""
MAX_ATTEMPTS = 5


class ReadOnlySessionError(RuntimeError):
    """A read-only (GET) session tried to write."""


def is_retryable(exc: BaseException) -> bool:
    """Serialization failures and deadlocks on PostgreSQL, a busy database on SQLite."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    message = str(original).lower()
    return "database is locked" in message or "database is busy" in message


def _backoff(attempt: int) -> float:
    jitter: float = random.random()  # noqa: S311 - jitter, not security
    return min(0.2, 0.005 * 2.0**attempt) * (0.5 + jitter)


class Database:
    """The engine and the two kinds of session the application opens on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine
        self._write_sessions = sessionmaker(bind=write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self.after_commit_hooks: list[Callable[[Session], None]] = []

    def session(self, *, write: bool = True) -> Session:
        if write:
            return self._write_sessions()
        session = self._read_sessions()
        session.info["read_only"] = True
        return session

    def notify_committed(self, session: Session) -> None:
        if session.info.pop(SCRUB_JOURNAL, False) and is_sqlite(self.engine):
            self._scrub_sqlite_journal()
        for hook in self.after_commit_hooks:
            hook(session)

    def _scrub_sqlite_journal(self) -> None:
        """Write the WAL back and truncate it, so erased data leaves no copy in the journal file."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except DBAPIError:
            log.warning("wal_checkpoint_failed")

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work outside a request (jobs, CLI): commit on success, roll back on error."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException as exc:
            if getattr(exc, "keeps_changes", False):
                session.commit()
                self.notify_committed(session)
            else:
                session.rollback()
            raise
        finally:
            session.close()
        self.notify_committed(session)

    def run(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work`` in its own transaction, re-running it on serialization failures and deadlocks."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.transaction(write=write) as session:
                    return work(session)
            except DBAPIError as exc:
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                log.info("transaction_retry", attempt=attempt, error=type(exc.orig).__name__)
                time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_read_only_sessions(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("read_only") and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("a GET request tried to write; use a POST/PUT/PATCH/DELETE route")


EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def reads_only(endpoint: EndpointT) -> EndpointT:
    """Marks a POST route that changes nothing (a quote, a preview, a search with a body): it gets a
    read-only session like a GET, so on SQLite it does not take the database's write lock."""
    endpoint.__dict__["reads_only"] = True
    return endpoint


class TransactionalRoute(APIRoute):
    """A route whose handler runs inside the request's transaction (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        write = not (self.methods or set()) <= {"GET", "HEAD"} and not getattr(
            self.endpoint, "reads_only", False
        )

        async def transactional_handler(request: Request) -> Response:
            database: Database = request.app.state.database
            for attempt in range(1, MAX_ATTEMPTS + 1):
                session = database.session(write=write)
                request.state.db_session = session
                try:
                    response = await handler(request)
                    await run_in_threadpool(session.commit)
                except DBAPIError as exc:
                    await run_in_threadpool(_rollback_and_close, session)
                    if attempt < MAX_ATTEMPTS and is_retryable(exc):
                        log.info("request_retry", attempt=attempt, error=type(exc.orig).__name__)
                        await _async_sleep(_backoff(attempt))
                        continue
                    await _run_failure_hooks(request, exc)
                    raise
                except BaseException as exc:
                    if getattr(exc, "keeps_changes", False):
                        await run_in_threadpool(_commit_and_close, session)
                        database.notify_committed(session)
                    else:
                        await run_in_threadpool(_rollback_and_close, session)
                    await _run_failure_hooks(request, exc)
                    raise
                await run_in_threadpool(session.close)
                database.notify_committed(session)
                return response
            raise AssertionError("unreachable")

        return transactional_handler


async def _run_failure_hooks(request: Request, exc: BaseException) -> None:
    """What the request asked to happen if it fails (e.g. storing a refusal under its idempotency
    key), each in its own transaction, after the rollback."""
    for hook in getattr(request.state, "failure_hooks", ()):
        try:
            await run_in_threadpool(hook, exc)
        except Exception:
            log.exception("failure_hook_failed")


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def _async_sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def get_session(request: Request) -> Session:
    """The request's session (the route must be a ``TransactionalRoute``)."""
    session: Session = request.state.db_session
    return session


def api_router(**options: Any) -> APIRouter:
    """The router every context's endpoints hang on: each route runs in the request's transaction."""
    return APIRouter(route_class=TransactionalRoute, **options)
