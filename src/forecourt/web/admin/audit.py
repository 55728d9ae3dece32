"""Admin audit log: who did what, when, with before/after; filtered by action, actor, entity and
chain-time dates (GET query: none of these is personal data), page by page, and exported to Excel."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.audit import browse
from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, to_chain_time
from forecourt.web.access import staff_page
from forecourt.web.i18n import gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import offset_of, page_number, page_of, xlsx_response
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]
Text = Annotated[str | None, Query(max_length=100)]
EXPORT_ROWS = 10_000


def _filter(
    action: Text = None,
    actor: Text = None,
    entity_type: Text = None,
    entity_id: Text = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> browse.AuditFilter:
    zone = chain_zone()
    return browse.AuditFilter(
        action=(action or "").strip() or None,
        actor=(actor or "").strip() or None,
        entity_type=(entity_type or "").strip() or None,
        entity_id=(entity_id or "").strip() or None,
        since=datetime.combine(date_from, time(0), tzinfo=zone) if date_from else None,
        until=datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=zone) if date_to else None,
    )


Filter = Annotated[browse.AuditFilter, Depends(_filter)]


def _changes(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.AUDIT_READ)],
    found: Filter,
    page: str | None = None,
) -> Response:
    number = page_number(page)
    rows = browse.entries(session, found, offset=offset_of(number), limit=25)
    query = request.url.query
    return render(
        request,
        "admin/audit/log.html",
        {
            "section": "/admin/audit",
            "entries": page_of(request, rows, page=number, total=browse.count_entries(session, found)),
            "actions": browse.actions(session),
            "f": request.query_params,
            "export_url": "/admin/audit.xlsx" + (f"?{query}" if query else ""),
            "changes": _changes,
        },
    )


@router.get("/audit.xlsx")
def audit_export(
    session: SessionDep, actor: Annotated[Actor, staff_page(Permission.AUDIT_READ)], found: Filter
) -> Response:
    """The filtered rows (newest first, up to 10,000) as an Excel workbook."""
    rows = browse.entries(session, found, offset=0, limit=EXPORT_ROWS)
    return xlsx_response(
        "audit-log",
        [
            gettext("Time"),
            gettext("Operation"),
            gettext("Actor"),
            gettext("Role"),
            gettext("Entity"),
            gettext("Entity id"),
            gettext("Before"),
            gettext("After"),
            gettext("Request"),
            gettext("IP"),
        ],
        (
            [
                to_chain_time(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                e.action,
                e.actor_label,
                e.actor_role or "",
                e.entity_type,
                e.entity_id or "",
                _changes(e.before),
                _changes(e.after),
                e.request_id or "",
                e.ip or "",
            ]
            for e in rows
        ),
    )
