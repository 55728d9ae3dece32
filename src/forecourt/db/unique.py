"""Inserts that may race with another transaction inserting the same unique key.

A look-up before the insert gives the friendly error in the common case; the insert itself, in a
savepoint, turns the race that the look-up cannot see into the same error instead of a 500.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.errors import AppError


def is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(exc.orig)


def add_unique(session: Session, row: object, conflict: AppError) -> None:
    """Add and flush ``row``; raise ``conflict`` if a unique key is already taken."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict from exc
        raise
