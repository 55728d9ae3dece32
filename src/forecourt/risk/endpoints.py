"""Staff review of risk decisions and tuning of the rules (SPEC X3)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_time_cursor, time_page
from forecourt.risk import service
from forecourt.risk.domain import DEFINITIONS
from forecourt.risk.models import RiskDecision, RiskRule
from forecourt.risk.schemas import ReviewRequest, RiskDecisionRead, RiskRuleRead, RiskRuleWrite

router = api_router(prefix="/api/v1/risk", tags=["risk"])

SessionDep = Annotated[Session, Depends(get_session)]
Reviewer = Annotated[Actor, require(Permission.RISK_REVIEW)]
Manager = Annotated[Actor, require(Permission.RISK_MANAGE)]


def _rule_read(row: RiskRule) -> RiskRuleRead:
    definition = DEFINITIONS.get(row.code)
    return RiskRuleRead(
        code=row.code,
        description=definition.description if definition else "",
        enabled=row.enabled,
        params=row.params,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _decision_read(row: RiskDecision) -> RiskDecisionRead:
    return RiskDecisionRead.model_validate(row, from_attributes=True)


@router.get("/decisions", response_model=Page[RiskDecisionRead])
def list_decisions(
    session: SessionDep,
    _: Reviewer,
    member_id: uuid.UUID | None = None,
    rule: str | None = None,
    outcome: Literal["rejected", "step_up", "step_up_passed", "flagged"] | None = None,
    reviewed: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[RiskDecisionRead]:
    """Decisions newest first, filtered by member, rule, outcome and whether staff reviewed them."""
    found = service.decisions(
        session,
        member_id=member_id,
        rule=rule,
        outcome=outcome,
        reviewed=reviewed,
        before=decode_time_cursor(cursor),
        limit=limit + 1,
    )
    shown, next_cursor = time_page(found, limit, lambda row: (row.decided_at, row.id))
    return Page(items=[_decision_read(row) for row in shown], next_cursor=next_cursor)


@router.post("/decisions/{decision_id}/review", response_model=RiskDecisionRead)
def review_decision(
    decision_id: uuid.UUID, body: ReviewRequest, session: SessionDep, actor: Reviewer
) -> RiskDecisionRead:
    """Mark a decision reviewed with what staff found (audited)."""
    return _decision_read(service.review(session, actor, decision_id, body.note))


@router.get("/rules", response_model=list[RiskRuleRead])
def list_rules(session: SessionDep, _: Reviewer) -> list[RiskRuleRead]:
    return [_rule_read(row) for row in service.rules(session)]


@router.put("/rules/{code}", response_model=RiskRuleRead)
def put_rule(code: str, body: RiskRuleWrite, session: SessionDep, actor: Manager) -> RiskRuleRead:
    """Switch a rule on or off and set its parameters (validated per rule; audited)."""
    return _rule_read(service.set_rule(session, actor, code, enabled=body.enabled, params=dict(body.params)))
