"""The dialect's INSERT (for ``ON CONFLICT`` clauses, which SQLite and PostgreSQL both support)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """``insert(table)`` of the session's dialect, with ``on_conflict_do_nothing/update``."""
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(table)
