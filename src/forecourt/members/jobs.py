"""Scheduled work of the members context."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forecourt.db.engine import is_sqlite
from forecourt.jobs.registry import JobContext, job
from forecourt.members import member_auth, privacy, tags


@job("compute-tags", "Recompute every computed member tag (adds and removes only the difference)")
def compute_tags(ctx: JobContext) -> dict[str, Any]:
    report: dict[str, Any] = {}

    def refresh(session: Session) -> None:
        for code, tag in tags.ensure_computed_tags(session).items():
            added, removed = tags.refresh_computed_tag(session, tag, ctx.at)
            report[code] = {"added": added, "removed": removed}

    ctx.database.run(refresh)
    return report


@job("purge-member-sessions", "Delete member sessions long expired and SMS codes older than a day")
def purge_member_sessions(ctx: JobContext) -> dict[str, Any]:
    return ctx.database.run(lambda session: member_auth.purge(session, ctx.at))


@job(
    "vacuum-erased-members",
    "PostgreSQL: VACUUM the tables erasure writes to, so no old row version keeps erased data",
)
def vacuum_erased_members(ctx: JobContext) -> dict[str, Any]:
    """An erased row's old versions stay in PostgreSQL's pages until VACUUM removes them (a version an
    open transaction may still see is kept until it ends). VACUUM refuses to run in a transaction, so
    this runs on an autocommit connection. SQLite needs nothing: it overwrites deleted content
    (``secure_delete``) and erasure truncates the write-ahead log."""
    engine = ctx.database.engine
    if is_sqlite(engine):
        return {"vacuumed": [], "database": "sqlite"}
    tables = privacy.tables_erasure_writes()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.exec_driver_sql(f'VACUUM "{table}"')
    return {"vacuumed": list(tables), "database": "postgresql"}
