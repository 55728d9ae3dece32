"""Every query of the risk context (its own tables only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forecourt.risk.domain import NEW_DEVICE_STEP_UP, STEP_UP_PASSED
from forecourt.risk.models import RiskDecision, RiskRule


def rule(session: Session, code: str, *, lock: bool = False) -> RiskRule | None:
    query = select(RiskRule).where(RiskRule.code == code)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def rules(session: Session) -> Sequence[RiskRule]:
    return session.scalars(select(RiskRule).order_by(RiskRule.code)).all()


def enabled_rules(session: Session, codes: Sequence[str]) -> dict[str, RiskRule]:
    rows = session.scalars(select(RiskRule).where(RiskRule.code.in_(codes), RiskRule.enabled.is_(True)))
    return {row.code: row for row in rows}


def add(session: Session, row: RiskRule | RiskDecision) -> None:
    session.add(row)
    session.flush()


def decision(session: Session, decision_id: uuid.UUID, *, lock: bool = False) -> RiskDecision | None:
    query = select(RiskDecision).where(RiskDecision.id == decision_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def verified_devices(session: Session, member_id: uuid.UUID) -> set[str]:
    """The member-app devices on which the member passed an SMS step-up."""
    rows = session.scalars(
        select(RiskDecision.reasons).where(
            RiskDecision.member_id == member_id,
            RiskDecision.rule == NEW_DEVICE_STEP_UP,
            RiskDecision.outcome == STEP_UP_PASSED,
        )
    )
    return {str(reasons.get("device_id")) for reasons in rows}


def decisions(
    session: Session,
    *,
    member_id: uuid.UUID | None = None,
    rule: str | None = None,
    outcome: str | None = None,
    reviewed: bool | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> Sequence[RiskDecision]:
    """Newest first; ``before`` is the (decided_at, id) of the last row of the previous page."""
    query = select(RiskDecision)
    if member_id is not None:
        query = query.where(RiskDecision.member_id == member_id)
    if rule is not None:
        query = query.where(RiskDecision.rule == rule)
    if outcome is not None:
        query = query.where(RiskDecision.outcome == outcome)
    if reviewed is not None:
        query = query.where(
            RiskDecision.reviewed_at.is_not(None) if reviewed else RiskDecision.reviewed_at.is_(None)
        )
    if before is not None:
        moment, row_id = before
        query = query.where(
            or_(
                RiskDecision.decided_at < moment,
                (RiskDecision.decided_at == moment) & (RiskDecision.id < row_id),
            )
        )
    query = query.order_by(RiskDecision.decided_at.desc(), RiskDecision.id.desc()).limit(limit)
    return session.scalars(query).all()
