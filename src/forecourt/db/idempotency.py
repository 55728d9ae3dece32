"""Idempotency keys for writes that devices and other systems retry (SPEC §3).

A request with an ``Idempotency-Key`` first *claims* the key in a short transaction of its own, so
a concurrent request with the same key sees the claim at once. Then:

- the handler succeeds: the stored response is written in the request's own transaction, so the
  sale and the record of its answer commit together (or neither does);
- the handler refuses (an ``AppError``): after the rollback the refusal is stored, and a retry gets
  the same refusal (SPEC: "failures included");
- anything else (a crash, a 500): the claim is released, so a retry runs afresh.

A retry with the same key and body gets the stored response (``Idempotent-Replayed: true``); the
same key with another body is ``409 idempotency_key_conflict``; a retry while the first is still
running is ``409 idempotency_key_in_use``. A claim left by a process that died is taken over after
``STALE_CLAIM``. Keys are kept at least 7 days (job ``purge-idempotency-keys``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from forecourt.db.base import Base
from forecourt.db.session import Database
from forecourt.db.upsert import insert_for
from forecourt.errors import AppError, Conflict, InvalidRequest
from forecourt.kit.clock import utcnow

STALE_CLAIM = timedelta(seconds=60)
KEEP_FOR = timedelta(days=7)
FAILURE_HOOKS = "failure_hooks"
"""``request.state`` attribute: callables ``TransactionalRoute`` runs after a failed request."""


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    """Whose keys these are: ``station:S001`` for a station's devices."""
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    """``in_progress`` or ``done``."""
    claim: Mapped[uuid.UUID]
    claimed_at: Mapped[datetime] = mapped_column(index=True)
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None]
    completed_at: Mapped[datetime | None]


class IdempotencyKeyConflict(Conflict):
    code = "idempotency_key_conflict"
    default_message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class InvalidIdempotencyKey(InvalidRequest):
    code = "invalid_idempotency_key"
    default_message = "Idempotency-Key is required: 1 to 200 visible ASCII characters."


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request's identity: method, path and the body (JSON compared by value, not spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        content = canonical.encode()
    except ValueError:
        content = body
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + content).hexdigest()


class Idempotent:
    """The claim of one request; the endpoint calls ``complete`` with its result."""

    def __init__(self, scope: str, key: str, claim: uuid.UUID, replay: JSONResponse | None) -> None:
        self.scope = scope
        self.key = key
        self.claim = claim
        self.replay = replay

    def complete(self, session: Session, result: BaseModel, *, status: int = 200) -> JSONResponse:
        """Store ``result`` as the answer to this key, in the request's transaction, and return it."""
        body = result.model_dump(mode="json")
        stored = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.scope == self.scope,
                IdempotencyKey.key == self.key,
                IdempotencyKey.claim == self.claim,
            )
            .values(status="done", response_status=status, response_body=body, completed_at=utcnow())
        )
        if getattr(stored, "rowcount", 0) != 1:  # our claim went stale and another request took it
            raise IdempotencyKeyInUse(idempotency_key=self.key)
        return JSONResponse(status_code=status, content=body)

    def _record_failure(self, database: Database, exc: BaseException) -> None:
        def record(session: Session) -> None:
            match = (
                IdempotencyKey.scope == self.scope,
                IdempotencyKey.key == self.key,
                IdempotencyKey.claim == self.claim,
            )
            if isinstance(exc, AppError) and not isinstance(exc, IdempotencyKeyInUse):
                body = {
                    "error": {
                        "code": exc.code,
                        "message": exc.message,
                        "details": jsonable_encoder(exc.details),
                    }
                }
                session.execute(
                    update(IdempotencyKey)
                    .where(*match, IdempotencyKey.status == "in_progress")
                    .values(
                        status="done", response_status=exc.status, response_body=body, completed_at=utcnow()
                    )
                )
            else:
                session.execute(delete(IdempotencyKey).where(*match, IdempotencyKey.status == "in_progress"))

        database.run(record)


def claim_key(database: Database, scope: str, key: str, print_: str, token: uuid.UUID) -> JSONResponse | None:
    """Claim ``key`` for this request (its own short transaction). Returns the stored response when
    the key was answered before; raises when it is taken by another body or still running."""

    def work(session: Session) -> JSONResponse | None:
        now = utcnow()
        inserted = session.execute(
            insert_for(session, IdempotencyKey)
            .values(
                scope=scope, key=key, fingerprint=print_, status="in_progress", claim=token, claimed_at=now
            )
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(IdempotencyKey.key)
        ).scalar()
        if inserted is not None:
            return None
        row = session.execute(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        ).scalar_one()
        if row.fingerprint != print_:
            raise IdempotencyKeyConflict(idempotency_key=key)
        if row.status == "done":
            response = JSONResponse(status_code=row.response_status or 200, content=row.response_body)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        if row.claim == token:  # the same request, re-run after a serialization failure
            return None
        if row.claimed_at > now - STALE_CLAIM:
            raise IdempotencyKeyInUse(idempotency_key=key)
        taken = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.claim == row.claim
            )
            .values(claim=token, claimed_at=now)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise IdempotencyKeyInUse(idempotency_key=key)
        return None

    return database.run(work)


def idempotency(scope_of: Callable[[Request], str]) -> Callable[..., Any]:
    """A dependency that claims the request's ``Idempotency-Key`` within ``scope_of(request)``
    (which may read what earlier dependencies put in ``request.state``)."""

    async def dependency(
        request: Request, idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")
    ) -> Idempotent:
        key = (idempotency_key or "").strip()
        if not key or len(key) > 200 or not key.isascii() or not key.isprintable():
            raise InvalidIdempotencyKey()
        database: Database = request.app.state.database
        scope = scope_of(request)
        token: uuid.UUID = getattr(request.state, "idempotency_claim", None) or uuid.uuid4()
        request.state.idempotency_claim = token
        body = await request.body()
        print_ = fingerprint(request.method, request.url.path, body)
        replay = await run_in_threadpool(claim_key, database, scope, key, print_, token)
        claim = Idempotent(scope, key, token, replay)
        if replay is None and not getattr(request.state, "idempotency_hooked", False):
            hooks: list[Callable[[BaseException], None]] = getattr(request.state, FAILURE_HOOKS, [])
            hooks.append(lambda exc: claim._record_failure(database, exc))
            setattr(request.state, FAILURE_HOOKS, hooks)
            request.state.idempotency_hooked = True
        return claim

    return dependency


def purge(session: Session, now: datetime) -> int:
    """Forget keys answered more than ``KEEP_FOR`` ago (and claims abandoned as long)."""
    done = session.execute(delete(IdempotencyKey).where(IdempotencyKey.claimed_at < now - KEEP_FOR))
    return int(getattr(done, "rowcount", 0) or 0)
