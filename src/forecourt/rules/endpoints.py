"""Earning rules for head office (R1–R7, X7) and the member's daily check-in (R3)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Body, Depends, Header, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members.dependencies import CurrentMember, member_actor
from forecourt.pos import trials
from forecourt.pos.schemas import Quote
from forecourt.pos.trials import BacktestRequest, BacktestResult, PreviewRequest
from forecourt.rules import rewards, service
from forecourt.rules.schemas import RuleDocument, RuleImportReport, RuleRead

router = api_router(prefix="/api/v1", tags=["rules"])

SessionDep = Annotated[Session, Depends(get_session)]
Reader = Annotated[Actor, require(Permission.RULES_READ)]
Manager = Annotated[Actor, require(Permission.RULES_MANAGE)]
YAML_TYPE = "application/yaml"


@router.get("/rules", response_model=list[RuleRead])
def list_rules(
    session: SessionDep, _: Reader, status: str | None = None, trigger: str | None = None
) -> list[RuleRead]:
    """The current version of every rule (``status``: active, draft, retired)."""
    return service.list_rules(session, status=status, trigger=trigger)


@router.post("/rules", response_model=RuleRead, status_code=201)
def create_rule(body: RuleDocument, session: SessionDep, actor: Manager) -> RuleRead:
    return service.create_rule(session, actor, body)


@router.get("/rules/export", response_class=PlainTextResponse)
def export_rules(session: SessionDep, _: Manager) -> PlainTextResponse:
    """The whole program as a YAML file (``forecourt.rules/v1``)."""
    text = service.dump_rule_file(service.export_rules(session))
    return PlainTextResponse(
        text, media_type=YAML_TYPE, headers={"Content-Disposition": 'attachment; filename="rules.yaml"'}
    )


@router.post("/rules/import", response_model=RuleImportReport)
def import_rules(
    session: SessionDep,
    actor: Manager,
    text: Annotated[str, Body(media_type=YAML_TYPE)],
    retire_missing: bool = False,
) -> RuleImportReport:
    """Bring the program to a YAML file: all of it or nothing; the same file twice changes nothing."""
    return service.import_rules(session, actor, service.parse_rule_file(text), retire_missing=retire_missing)


@router.get("/rules/{code}", response_model=RuleRead)
def get_rule(code: str, session: SessionDep, _: Reader) -> RuleRead:
    return service.get_rule(session, code)


@router.get("/rules/{code}/versions", response_model=list[RuleRead])
def rule_versions(code: str, session: SessionDep, _: Reader) -> list[RuleRead]:
    return service.rule_versions(session, code)


@router.put("/rules/{code}", response_model=RuleRead)
def update_rule(
    code: str,
    body: RuleDocument,
    session: SessionDep,
    actor: Manager,
    if_match: Annotated[str | None, Header()] = None,
) -> RuleRead:
    """Write the next version. ``If-Match: <version>`` refuses the change if someone else changed
    the rule since that version (``rule_version_conflict``)."""
    expected = None
    if if_match is not None:
        try:
            expected = int(if_match.strip('W/"'))
        except ValueError as exc:
            raise InvalidRequest("If-Match is the rule version you read.", if_match=if_match) from exc
    return service.update_rule(session, actor, code, body, expected_version=expected)


@router.post("/rules/{code}/retire", response_model=RuleRead)
def retire_rule(code: str, session: SessionDep, actor: Manager) -> RuleRead:
    return service.retire_rule(session, actor, code)


@router.post("/rules/preview", response_model=Quote)
def preview(body: PreviewRequest, request: Request, session: SessionDep, _: Reader) -> Quote:
    """What a basket would earn, rule by rule (with ``draft_rules`` in force, if given)."""
    return trials.preview(session, request.app.state.pii, body)


@router.post("/rules/backtest", response_model=BacktestResult)
def backtest(body: BacktestRequest, session: SessionDep, _: Reader) -> BacktestResult:
    """What a draft rule would have cost over the real sales of the last ``days``: points, ¥,
    sales and members affected."""
    return trials.backtest(session, body)


class CheckInRead(BaseModel):
    day: date
    streak: int
    points: int


@router.post("/me/check-ins", response_model=CheckInRead, status_code=201)
def check_in(member: CurrentMember, request: Request, session: SessionDep) -> CheckInRead:
    """Today's check-in (签到): points, and a bonus on every 7th day in a row."""
    result = rewards.check_in(
        session, request.app.state.ledger_signer, member_actor(member, request), member.id, utcnow()
    )
    return CheckInRead(day=result.day, streak=result.streak, points=result.points)
