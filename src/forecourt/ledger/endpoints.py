"""Points of a member, for staff (``/members/{id}/…``) and for the member (``/me/…``)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_time_cursor, time_page
from forecourt.ledger import adjustments, history, liability, points
from forecourt.ledger.schemas import (
    AdjustmentCreate,
    AdjustmentDecision,
    AdjustmentRead,
    FlowRead,
    LedgerLineRead,
    LiabilityReport,
    LotRead,
    NextExpiry,
    PointsRead,
    SnapshotRead,
)
from forecourt.members import service as members
from forecourt.members.dependencies import CurrentMember

router = api_router(prefix="/api/v1", tags=["points"])

SessionDep = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _points(session: Session, member_id: uuid.UUID) -> PointsRead:
    balances = points.balances(session, member_id)
    lots = history.open_lots(session, member_id)
    first = next((lot for lot in lots if lot.expires_at is not None), None)
    next_expiry = None
    if first is not None and first.expires_at is not None:
        due = sum(lot.remaining for lot in lots if lot.expires_at == first.expires_at)
        next_expiry = NextExpiry(points=due, expires_at=first.expires_at)
    return PointsRead(
        available=balances.available,
        pending=balances.pending,
        lots=[
            LotRead(lot_id=lot.id, amount=lot.amount, remaining=lot.remaining, expires_at=lot.expires_at)
            for lot in lots
        ],
        next_expiry=next_expiry,
    )


def _ledger(session: Session, member_id: uuid.UUID, cursor: str | None, limit: int) -> Page[LedgerLineRead]:
    lines = history.member_postings(session, member_id, before=decode_time_cursor(cursor), limit=limit + 1)
    shown, next_cursor = time_page(lines, limit, lambda line: (line.recorded_at, line.posting_id))
    return Page(items=[LedgerLineRead(**line.__dict__) for line in shown], next_cursor=next_cursor)


@router.get("/members/{member_id}/points", response_model=PointsRead)
def member_points(
    member_id: uuid.UUID, session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]
) -> PointsRead:
    """Available and pending points, the open lots and what expires next."""
    return _points(session, members.get_member(session, member_id, allow_deleted=True).id)


@router.get("/members/{member_id}/ledger", response_model=Page[LedgerLineRead])
def member_ledger(
    member_id: uuid.UUID,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.MEMBERS_READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[LedgerLineRead]:
    """Points postings, newest first."""
    member = members.get_member(session, member_id, allow_deleted=True)
    return _ledger(session, member.id, cursor, limit)


@router.get("/me/points", response_model=PointsRead, tags=["member self-service"])
def my_points(session: SessionDep, member: CurrentMember) -> PointsRead:
    return _points(session, member.id)


@router.get("/me/ledger", response_model=Page[LedgerLineRead], tags=["member self-service"])
def my_ledger(
    session: SessionDep, member: CurrentMember, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[LedgerLineRead]:
    return _ledger(session, member.id, cursor, limit)


@router.post(
    "/members/{member_id}/point-adjustments",
    response_model=AdjustmentRead,
    status_code=status.HTTP_201_CREATED,
)
def request_adjustment(
    member_id: uuid.UUID,
    body: AdjustmentCreate,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.POINTS_ADJUST)],
) -> AdjustmentRead:
    """Ask for a manual grant (+) or deduction (−); someone else approves it."""
    return AdjustmentRead.model_validate(
        adjustments.request(session, actor, member_id, amount=body.amount, reason=body.reason)
    )


@router.get("/point-adjustments", response_model=list[AdjustmentRead])
def list_adjustments(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.POINTS_APPROVE)],
    status_filter: Annotated[str | None, Query(alias="status")] = "pending",
    member_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> list[AdjustmentRead]:
    rows = adjustments.list_adjustments(
        session, status=status_filter or None, member_id=member_id, limit=limit
    )
    return [AdjustmentRead.model_validate(row) for row in rows]


@router.post("/point-adjustments/{adjustment_id}/approve", response_model=AdjustmentRead)
def approve_adjustment(
    adjustment_id: uuid.UUID,
    body: AdjustmentDecision,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.POINTS_APPROVE)],
) -> AdjustmentRead:
    """Post the adjustment (never by the staff member who asked for it)."""
    adjustment = adjustments.approve(
        session, actor, request.app.state.ledger_signer, adjustment_id, note=body.note
    )
    return AdjustmentRead.model_validate(adjustment)


@router.post("/point-adjustments/{adjustment_id}/reject", response_model=AdjustmentRead)
def reject_adjustment(
    adjustment_id: uuid.UUID,
    body: AdjustmentDecision,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.POINTS_APPROVE)],
) -> AdjustmentRead:
    return AdjustmentRead.model_validate(adjustments.reject(session, actor, adjustment_id, note=body.note))


@router.get("/reports/points-liability", response_model=LiabilityReport, tags=["finance"])
def points_liability(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.REPORTS_FINANCE)],
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> LiabilityReport:
    """Daily liability snapshots (job ``snapshot-liability``), breakage, and earn/burn per station."""
    if end < start:
        raise InvalidRequest("`to` is before `from`.")
    rows = liability.snapshots(session, start, end)
    flows = liability.earn_burn(
        session, liability.end_of_day(start - timedelta(days=1)), liability.end_of_day(end)
    )
    return LiabilityReport(
        snapshots=[SnapshotRead.model_validate(row) for row in rows],
        breakage_rate=str(liability.breakage_rate(rows[-1])) if rows else "0",
        earn_burn=[FlowRead(**flow.__dict__) for flow in flows],
    )
