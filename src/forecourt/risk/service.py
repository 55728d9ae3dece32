"""Risk checks on payments and redemptions, their decisions, and the staff who review and tune them.

The checks read and never write, except the decision of a refusal: ``check_payment`` and
``check_redemption`` are called before a use case writes anything of its own, and a refusal raises
an error that ``keeps_changes`` (SPEC X3: "decisions logged with reasons"), so the decision row
commits while the request itself is refused. A rule without a row, or disabled, does not apply.

What counts: a *payment* is a committed POS sale by the member that moved money (external payment
plus wallet, principal and bonus) or an online top-up the member asked for (paid or awaiting
payment); a *redemption* is a committed sale that redeemed points or coupons, or a coupon bought
with points. They are read through the POS, payments and coupons contexts' services
(``pos.service.member_payments_since``, ``member_redemptions_since``,
``payments.service.member_top_ups_since``, ``coupons.issuance.exchanges_since``), not their tables;
the imports are deferred because those contexts call this module. A step-up passed on a device is
itself a decision (outcome ``step_up_passed``), which is how a device becomes known to a member
without a table of its own.

The limits are checked, then the sale is written: two commits for one member racing each other may
both see the history without the other, on either database, so a burst of simultaneous sales can
pass a limit by the few that raced. Exact limits would need a per-member lock row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.ids import new_id
from forecourt.risk import domain, repository
from forecourt.risk.domain import (
    DEFINITIONS,
    NEW_DEVICE_STEP_UP,
    PAID_PER_DAY,
    PAYMENTS_PER_MINUTE,
    REDEMPTION_BURST,
    STEP_UP,
    STEP_UP_PASSED,
    Refusal,
)
from forecourt.risk.errors import (
    InvalidRiskParams,
    RiskDecisionNotFound,
    RiskRejected,
    RiskStepUpRequired,
    UnknownRiskRule,
)
from forecourt.risk.models import RiskDecision, RiskRule

PAYMENT, REDEMPTION = "payment", "redemption"

# --- rules -----------------------------------------------------------------------------------------


def install_defaults(session: Session) -> None:
    """The default rules (SPEC X3), each added only when missing: a tuned rule is never reset."""
    now = utcnow()
    for definition in DEFINITIONS.values():
        if repository.rule(session, definition.code) is None:
            repository.add(
                session,
                RiskRule(
                    code=definition.code,
                    enabled=definition.enabled,
                    params=dict(definition.params),
                    updated_at=now,
                    updated_by=SYSTEM.label,
                ),
            )


def rules(session: Session) -> Sequence[RiskRule]:
    return repository.rules(session)


def set_rule(session: Session, actor: Actor, code: str, *, enabled: bool, params: dict[str, Any]) -> RiskRule:
    """Switch a rule on or off and set its parameters (validated per rule); audited."""
    if code not in DEFINITIONS:
        raise UnknownRiskRule(rule=code)
    problems = domain.params_problems(code, params)
    if problems:
        raise InvalidRiskParams(rule=code, problems=problems)
    row = repository.rule(session, code, lock=True)
    if row is None:
        row = RiskRule(code=code, enabled=enabled, params=params, updated_at=utcnow(), updated_by="")
        before = None
        session.add(row)
    else:
        before = {"enabled": row.enabled, "params": dict(row.params)}
    row.enabled = enabled
    row.params = dict(params)
    row.updated_at = utcnow()
    row.updated_by = actor.label
    session.flush()
    audit.record(
        session,
        actor,
        "risk.rule_set",
        "risk_rule",
        code,
        before=before,
        after={"enabled": enabled, "params": params},
    )
    return row


# --- checks ----------------------------------------------------------------------------------------


def check_payment(
    session: Session,
    member_id: uuid.UUID,
    amount_fen: int,
    at: datetime,
    *,
    device_id: str | None = None,
) -> None:
    """Refuse (``RiskRejected``, decision logged) a payment of ``amount_fen`` by the member at
    ``at`` that breaks a rule in force: the (max+1)th payment in the rolling window, or a local day
    paid past the limit. With ``device_id`` (a member-app device), a device the member never
    verified first needs an SMS step-up (``RiskStepUpRequired``). Nothing to pay, nothing to check."""
    if device_id is not None:
        require_known_device(session, member_id, device_id, at, action=PAYMENT)
    if amount_fen <= 0:
        return
    in_force = repository.enabled_rules(session, [PAYMENTS_PER_MINUTE, PAID_PER_DAY])
    if not in_force:
        return
    from forecourt.payments import service as payments  # both call this module
    from forecourt.pos import service as pos

    day_start, day_end = domain.day_bounds(at, chain_zone())
    rate = in_force.get(PAYMENTS_PER_MINUTE)
    since = day_start
    if rate is not None:
        since = min(since, domain.window_start(at, rate.params["window_seconds"]))
    history = [
        *pos.member_payments_since(session, member_id, since),
        *payments.member_top_ups_since(session, member_id, since),
    ]
    refusal: Refusal | None = None
    if rate is not None:
        refusal = domain.payments_rate_refusal(rate.params, at, [moment for moment, _ in history])
    daily = in_force.get(PAID_PER_DAY)
    if refusal is None and daily is not None:
        paid_today = sum(amount for moment, amount in history if day_start <= moment < day_end)
        refusal = domain.paid_per_day_refusal(
            daily.params, day_start.date().isoformat(), paid_today, amount_fen
        )
    if refusal is not None:
        _refuse(session, member_id, PAYMENT, refusal, at, amount_fen=amount_fen)


def check_redemption(session: Session, member_id: uuid.UUID, at: datetime) -> None:
    """Refuse (``RiskRejected``, decision logged) a redemption of points or coupons at ``at`` that
    would make a burst: more than the rule allows in its window."""
    burst = repository.enabled_rules(session, [REDEMPTION_BURST]).get(REDEMPTION_BURST)
    if burst is None:
        return
    from forecourt.coupons import issuance as coupons
    from forecourt.pos import service as pos

    since = domain.window_start(at, burst.params["window_seconds"])
    earlier = [
        *pos.member_redemptions_since(session, member_id, since),
        *coupons.exchanges_since(session, member_id, since),
    ]
    refusal = domain.redemption_burst_refusal(burst.params, at, earlier)
    if refusal is not None:
        _refuse(session, member_id, REDEMPTION, refusal, at)


def require_known_device(
    session: Session, member_id: uuid.UUID, device_id: str, at: datetime, *, action: str = PAYMENT
) -> None:
    """``RiskStepUpRequired`` (decision logged) when rule ``new_device_step_up`` is on and the
    member never passed a step-up on this member-app device. After the member proves it is them
    (an SMS code checked by the caller), ``confirm_device`` makes the device known."""
    if not repository.enabled_rules(session, [NEW_DEVICE_STEP_UP]):
        return
    if device_id in repository.verified_devices(session, member_id):
        return
    _refuse(session, member_id, action, Refusal(NEW_DEVICE_STEP_UP, STEP_UP, {"device_id": device_id}), at)


def confirm_device(session: Session, member_id: uuid.UUID, device_id: str, at: datetime) -> None:
    """Record that the member passed the SMS step-up on ``device_id``: later payments from it pass."""
    if device_id in repository.verified_devices(session, member_id):
        return
    _decide(
        session, member_id, PAYMENT, Refusal(NEW_DEVICE_STEP_UP, STEP_UP_PASSED, {"device_id": device_id}), at
    )


def _decide(
    session: Session, member_id: uuid.UUID, action: str, refusal: Refusal, at: datetime
) -> RiskDecision:
    row = RiskDecision(
        id=new_id(),
        member_id=member_id,
        action=action,
        outcome=refusal.outcome,
        rule=refusal.rule,
        reasons=refusal.reasons,
        decided_at=at,
        reviewed_at=None,
        reviewed_by=None,
        review_note=None,
    )
    repository.add(session, row)
    return row


def _refuse(
    session: Session, member_id: uuid.UUID, action: str, refusal: Refusal, at: datetime, **figures: Any
) -> None:
    refusal = Refusal(refusal.rule, refusal.outcome, {**refusal.reasons, **figures})
    row = _decide(session, member_id, action, refusal, at)
    error = RiskStepUpRequired if refusal.outcome == STEP_UP else RiskRejected
    raise error(rule=refusal.rule, decision_id=str(row.id), **refusal.reasons)


# --- review ----------------------------------------------------------------------------------------


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
    return repository.decisions(
        session,
        member_id=member_id,
        rule=rule,
        outcome=outcome,
        reviewed=reviewed,
        before=before,
        limit=limit,
    )


def review(session: Session, actor: Actor, decision_id: uuid.UUID, note: str) -> RiskDecision:
    """Staff looked at a decision and say what they found (audited). A second review replaces the
    note; the audit trail keeps the first."""
    row = repository.decision(session, decision_id, lock=True)
    if row is None:
        raise RiskDecisionNotFound(decision_id=str(decision_id))
    before = {"reviewed_at": row.reviewed_at, "reviewed_by": row.reviewed_by, "review_note": row.review_note}
    row.reviewed_at = utcnow()
    row.reviewed_by = actor.label
    row.review_note = note
    session.flush()
    audit.record(
        session,
        actor,
        "risk.decision_reviewed",
        "risk_decision",
        row.id,
        before=before,
        after={"reviewed_at": row.reviewed_at, "reviewed_by": row.reviewed_by, "review_note": note},
    )
    return row
