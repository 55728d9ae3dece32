"""The audit trail as the admin console pages through it: filters, page by page, and a count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    """An actor's id or label (username)."""
    entity_type: str | None = None
    entity_id: str | None = None
    entity_ids: tuple[str, ...] = ()
    """Any of these entities (a member and the adjustments asked for them, say)."""
    since: datetime | None = None
    until: datetime | None = None


def _conditions(found: AuditFilter) -> list[ColumnElement[Any]]:
    conditions: list[ColumnElement[Any]] = []
    if found.action:
        conditions.append(AuditEntry.action == found.action)
    if found.actor:
        conditions.append(or_(AuditEntry.actor_id == found.actor, AuditEntry.actor_label == found.actor))
    if found.entity_type:
        conditions.append(AuditEntry.entity_type == found.entity_type)
    if found.entity_id:
        conditions.append(AuditEntry.entity_id == found.entity_id)
    if found.entity_ids:
        conditions.append(AuditEntry.entity_id.in_(found.entity_ids))
    if found.since:
        conditions.append(AuditEntry.occurred_at >= found.since)
    if found.until:
        conditions.append(AuditEntry.occurred_at < found.until)
    return conditions


def count_entries(session: Session, found: AuditFilter) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(*_conditions(found))) or 0)


def entries(session: Session, found: AuditFilter, *, offset: int, limit: int) -> Sequence[AuditEntry]:
    """Newest first."""
    return session.scalars(
        select(AuditEntry)
        .where(*_conditions(found))
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()


def actions(session: Session) -> list[str]:
    """Every action the trail holds, for the filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
