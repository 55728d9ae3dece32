from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.db.keyset import before_key


def add(session: Session, entry: AuditEntry) -> None:
    session.add(entry)


def search(
    session: Session,
    *,
    actor_id: str | None,
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    request_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[AuditEntry]:
    """Newest first; ``before`` is the (occurred_at, id) of the last row of the previous page."""
    query = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(limit)
    if actor_id:
        query = query.where(or_(AuditEntry.actor_id == actor_id, AuditEntry.actor_label == actor_id))
    if action:
        query = query.where(AuditEntry.action == action)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if request_id:
        query = query.where(AuditEntry.request_id == request_id)
    if since:
        query = query.where(AuditEntry.occurred_at >= since)
    if until:
        query = query.where(AuditEntry.occurred_at < until)
    if before:
        query = query.where(before_key((AuditEntry.occurred_at, AuditEntry.id), before))
    return session.scalars(query).all()
