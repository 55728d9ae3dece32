"""Tiers: the levels, a member's tier with progress and history, and manual overrides."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members import service as members
from forecourt.members.dependencies import CurrentMember
from forecourt.tiers import service
from forecourt.tiers.schemas import (
    ManualTier,
    TierChangeRead,
    TierProgramRead,
    TierProgramUpdate,
    TierRead,
    TierStatus,
)

router = api_router(prefix="/api/v1", tags=["tiers"])

SessionDep = Annotated[Session, Depends(get_session)]


def _status(session: Session, member_id: uuid.UUID) -> TierStatus:
    prog = service.program(session)
    progress = service.progress(session, member_id, utcnow())
    return TierStatus(
        tier=TierRead.model_validate(progress.tier),
        projected_tier=TierRead.model_validate(progress.projected),
        metric=prog.metric,
        window=prog.window,
        value=progress.value,
        next_tier=TierRead.model_validate(progress.next_tier) if progress.next_tier else None,
        to_next=progress.to_next,
        to_keep=progress.to_keep,
        grace_until=progress.grace_until,
        manual_until=progress.manual_until,
        history=[TierChangeRead.model_validate(change) for change in service.history(session, member_id)],
    )


@router.get("/tiers", response_model=list[TierRead])
def list_tiers(session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]) -> list[TierRead]:
    return [TierRead.model_validate(level) for level in service.levels(session)]


def _program(session: Session) -> TierProgramRead:
    prog = service.program(session)
    return TierProgramRead(
        metric=prog.metric,
        window=prog.window,
        grace_months=prog.grace_months,
        thresholds=service.thresholds(session),
    )


@router.get("/tier-program", response_model=TierProgramRead)
def tier_program(
    session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]
) -> TierProgramRead:
    """How members qualify: metric, window, grace period and each tier's threshold."""
    return _program(session)


@router.patch("/tier-program", response_model=TierProgramRead)
def update_tier_program(
    body: TierProgramUpdate, session: SessionDep, actor: Annotated[Actor, require(Permission.TIERS_MANAGE)]
) -> TierProgramRead:
    """Change the qualifying metric (with thresholds in its units), window, grace period or
    thresholds (audited); upgrades follow at once on the next qualifying event, downgrades at the
    next evaluation."""
    service.configure(session, actor, **body.model_dump(exclude_unset=True))
    return _program(session)


@router.get("/members/{member_id}/tier", response_model=TierStatus)
def member_tier(
    member_id: uuid.UUID, session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]
) -> TierStatus:
    """The member's tier, progress to the next one, what keeps this one, and the history."""
    return _status(session, members.get_member(session, member_id).id)


@router.put("/members/{member_id}/tier", response_model=TierStatus)
def set_member_tier(
    member_id: uuid.UUID,
    body: ManualTier,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.TIERS_MANAGE)],
) -> TierStatus:
    """Set a tier by hand until ``until`` (or for good); audited."""
    member = members.get_member(session, member_id)
    service.set_manual(session, actor, member.id, body.tier, until=body.until, note=body.note)
    return _status(session, member.id)


@router.get("/me/tier", response_model=TierStatus, tags=["member self-service"])
def my_tier(session: SessionDep, member: CurrentMember) -> TierStatus:
    return _status(session, member.id)
