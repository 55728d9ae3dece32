"""Manual point adjustments with maker–checker approval (L5): a request with a reason, approved or
rejected by a second staff member; the approval posts to the ledger. Every step is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.ledger.errors import AdjustmentClosed, AdjustmentNotFound, InvalidAdjustment, SelfApproval
from forecourt.ledger.models import PointAdjustment
from forecourt.members import service as members

MAX_ADJUSTMENT = 1_000_000


def request(
    session: Session, actor: Actor, member_id: uuid.UUID, *, amount: int, reason: str
) -> PointAdjustment:
    member = members.get_member(session, member_id)
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise InvalidAdjustment(
            f"The amount is a non-zero number of points up to {MAX_ADJUSTMENT:,}.", field="amount"
        )
    if not reason.strip():
        raise InvalidAdjustment("Every adjustment needs a reason.", field="reason")
    adjustment = PointAdjustment(
        id=new_id(),
        member_id=member.id,
        amount=amount,
        reason=reason.strip()[:300],
        status="pending",
        requested_by_id=str(actor.id),
        requested_by=actor.label,
        requested_at=utcnow(),
    )
    session.add(adjustment)
    session.flush()
    audit.record(
        session,
        actor,
        "points.adjustment_request",
        "point_adjustment",
        adjustment.id,
        after={"member_id": str(member.id), "amount": amount, "reason": adjustment.reason},
    )
    return adjustment


def _pending(session: Session, actor: Actor, adjustment_id: uuid.UUID) -> PointAdjustment:
    adjustment = session.scalar(
        select(PointAdjustment).where(PointAdjustment.id == adjustment_id).with_for_update()
    )
    if adjustment is None:
        raise AdjustmentNotFound(adjustment_id=str(adjustment_id))
    if adjustment.status != "pending":
        raise AdjustmentClosed(status=adjustment.status)
    if adjustment.requested_by_id == str(actor.id):
        raise SelfApproval()
    return adjustment


def approve(
    session: Session,
    actor: Actor,
    signer: Signer,
    adjustment_id: uuid.UUID,
    *,
    note: str = "",
) -> PointAdjustment:
    """Post the adjustment. A grant's points expire like any earned points (``points.earn``); a
    deduction the member's points no longer cover is refused (``insufficient_points``) and stays
    pending."""
    adjustment = _pending(session, actor, adjustment_id)
    now = utcnow()
    key = f"adjustment:{adjustment.id}"
    if adjustment.amount > 0:
        result = points.earn(
            session,
            signer,
            actor,
            adjustment.member_id,
            adjustment.amount,
            reason="adjustment.grant",
            idempotency_key=key,
            occurred_at=now,
            memo=adjustment.reason,
            source="adjustment",
        )
    else:
        result = points.spend(
            session,
            signer,
            actor,
            adjustment.member_id,
            -adjustment.amount,
            reason="adjustment.deduct",
            idempotency_key=key,
            occurred_at=now,
            memo=adjustment.reason,
            sink="adjustment",
        )
    _decide(session, actor, adjustment, "approved", note, now)
    adjustment.posting_id = result.posting.id
    return adjustment


def reject(session: Session, actor: Actor, adjustment_id: uuid.UUID, *, note: str = "") -> PointAdjustment:
    adjustment = _pending(session, actor, adjustment_id)
    _decide(session, actor, adjustment, "rejected", note, utcnow())
    return adjustment


def _decide(
    session: Session, actor: Actor, adjustment: PointAdjustment, status: str, note: str, now: datetime
) -> None:
    adjustment.status = status
    adjustment.decided_by_id = str(actor.id)
    adjustment.decided_by = actor.label
    adjustment.decided_at = now
    adjustment.note = note.strip()[:200]
    audit.record(
        session,
        actor,
        f"points.adjustment_{'approve' if status == 'approved' else 'reject'}",
        "point_adjustment",
        adjustment.id,
        before={"status": "pending"},
        after={"status": status, "amount": adjustment.amount, "note": adjustment.note},
    )


def list_adjustments(
    session: Session, *, status: str | Sequence[str] | None, member_id: uuid.UUID | None, limit: int
) -> Sequence[PointAdjustment]:
    """Newest first; ``status`` one status or several (``("approved", "rejected")``: the decided)."""
    query = select(PointAdjustment).order_by(PointAdjustment.requested_at.desc(), PointAdjustment.id.desc())
    if isinstance(status, str) and status:
        query = query.where(PointAdjustment.status == status)
    elif status:
        query = query.where(PointAdjustment.status.in_(list(status)))
    if member_id:
        query = query.where(PointAdjustment.member_id == member_id)
    return session.scalars(query.limit(limit)).all()
