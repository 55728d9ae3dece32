"""Recording and reading the audit trail.

``record`` writes in the caller's session, so the audit row commits or rolls back with the change it
describes. Before/after are JSON snapshots of the fields that matter; secrets never go in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from forecourt.audit import repository
from forecourt.audit.models import AuditEntry
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.kit.request_context import current_request_id


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        id=new_id(),
        occurred_at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        actor_role=actor.role,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        before=to_jsonable_python(before) if before is not None else None,
        after=to_jsonable_python(after) if after is not None else None,
        request_id=current_request_id(),
        ip=actor.ip,
    )
    repository.add(session, entry)
    return entry


def search(
    session: Session,
    *,
    actor_id: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> Sequence[AuditEntry]:
    return repository.search(
        session,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=request_id,
        since=since,
        until=until,
        before=before,
        limit=limit,
    )
