"""Finance's reconciliation: import providers' bill files, review and resolve the differences."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_time_cursor, time_page
from forecourt.reconciliation import service
from forecourt.reconciliation.errors import InvalidStatement
from forecourt.reconciliation.models import ReconciliationItem
from forecourt.reconciliation.schemas import (
    ItemRead,
    ResolveRequest,
    RunRead,
    StatementProvider,
    StatementRead,
    SummaryRead,
)

router = api_router(prefix="/api/v1/reconciliation", tags=["reconciliation"])

SessionDep = Annotated[Session, Depends(get_session)]
Finance = Annotated[Actor, require(Permission.RECONCILIATION)]
MAX_STATEMENT_BYTES = 20 * 1024 * 1024


def _item(item: ReconciliationItem) -> ItemRead:
    return ItemRead(
        id=item.id,
        business_date=item.business_date,
        provider=item.provider,
        kind=item.kind,
        classification=item.classification,
        reference=item.reference,
        ours_fen=item.ours_fen,
        theirs_fen=item.theirs_fen,
        status=item.status,
        resolution=item.resolution,
        note=item.note,
        resolved_by=item.resolved_by,
        resolved_at=item.resolved_at,
        found_at=item.found_at,
    )


@router.post("/statements", response_model=StatementRead, status_code=201)
async def import_statement(
    request: Request,
    session: SessionDep,
    actor: Finance,
    provider: StatementProvider,
    business_date: date,
    file_name: Annotated[str, Query(min_length=1, max_length=200)] = "statement.csv",
) -> JSONResponse:
    """Import a provider's bill file, sent as the raw request body (``text/csv``, UTF-8 or GBK).
    The same file again changes nothing (200, ``duplicate: true``)."""
    data = await request.body()
    if not data or len(data) > MAX_STATEMENT_BYTES:
        raise InvalidStatement("Send the bill file as the request body (at most 20 MB).", size=len(data))
    imported = service.import_statement(
        session, actor, provider=provider, business_date=business_date, file_name=file_name, data=data
    )
    statement = imported.statement
    body = StatementRead(
        id=statement.id,
        provider=statement.provider,
        business_date=statement.business_date,
        file_name=statement.file_name,
        digest=statement.digest,
        lines=statement.lines,
        total_fen=statement.total_fen,
        imported_at=statement.imported_at,
        imported_by=statement.imported_by,
        duplicate=imported.duplicate,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if imported.duplicate else 201)


@router.get("/items", response_model=Page[ItemRead])
def list_items(
    session: SessionDep,
    _: Finance,
    status: Annotated[str | None, Query(max_length=16)] = None,
    provider: Annotated[str | None, Query(max_length=16)] = None,
    business_date: Annotated[date | None, Query(alias="date")] = None,
    classification: Annotated[str | None, Query(max_length=24)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ItemRead]:
    rows = service.list_items(
        session,
        status=status,
        provider=provider,
        business_date=business_date,
        classification=classification,
        after=decode_time_cursor(cursor),
        limit=limit,
    )
    items, next_cursor = time_page(rows, limit, lambda row: (row.found_at, row.id))
    return Page[ItemRead](items=[_item(row) for row in items], next_cursor=next_cursor)


@router.post("/items/{item_id}/resolve", response_model=ItemRead)
def resolve_item(
    item_id: uuid.UUID, body: ResolveRequest, request: Request, session: SessionDep, actor: Finance
) -> ItemRead:
    """Finance's decision on a difference (audited); ``credited_member`` credits a top-up the
    provider collected and we never saw paid, once."""
    item = service.resolve(
        session,
        request.app.state.ledger_signer,
        actor,
        item_id,
        resolution=body.resolution,
        note=body.note,
    )
    return _item(item)


@router.get("/summary", response_model=SummaryRead)
def summary(
    session: SessionDep,
    _: Finance,
    business_date: Annotated[date, Query(alias="date")],
    provider: Annotated[str | None, Query(max_length=16)] = None,
) -> SummaryRead:
    runs = service.summary(session, business_date, provider)
    return SummaryRead(
        business_date=business_date,
        runs=[
            RunRead(provider=r.provider, business_date=r.business_date, summary=r.summary, ran_at=r.ran_at)
            for r in runs
        ],
        open_items=service.open_count(session, business_date, provider),
    )
