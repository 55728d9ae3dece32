from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from forecourt.audit import service
from forecourt.audit.schemas import AuditRead
from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
    parse_datetime,
)

router = api_router(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=Page[AuditRead])
def search_audit(
    session: Annotated[Session, Depends(get_session)],
    _: Annotated[Actor, require(Permission.AUDIT_READ)],
    actor: Annotated[str | None, Query(description="Actor id or username")] = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    request_id: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditRead]:
    """The audit trail, newest first."""
    before = None
    if cursor:
        occurred, entry_id = decode_cursor(cursor, parse_datetime, uuid.UUID)
        before = (occurred, entry_id)
    rows = service.search(
        session,
        actor_id=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=request_id,
        since=since,
        until=until,
        before=before,
        limit=limit,
    )
    next_cursor = (
        encode_cursor(rows[-1].occurred_at.isoformat(), str(rows[-1].id)) if len(rows) == limit else None
    )
    return Page[AuditRead](items=[AuditRead.model_validate(row) for row in rows], next_cursor=next_cursor)
