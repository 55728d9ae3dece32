"""Scheduled work of the members context."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forecourt.jobs.registry import JobContext, job
from forecourt.members import member_auth, tags


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
