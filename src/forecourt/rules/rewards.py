"""Events that earn (SPEC R3): welcome points on the first plate, referrals, daily check-in with a
streak bonus, profile completion and monthly tasks. Amounts come from the active event rules.

Each reward is given at most once: a ``RewardGrant`` row keyed by rule and member (and day or month
where it repeats) and a ledger posting under the same idempotency key. Referrals are pending on
both sides until the referee's first completed fueling, posted then, and taken back if that sale
is fully refunded.

Welcome, referral and profile rewards follow the members context's events through the outbox;
sale-driven rewards run inside the sale's transaction (``after_sale``, ``after_refund``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.config import get_settings
from forecourt.db.outbox import Event, subscribe
from forecourt.db.unique import add_unique
from forecourt.db.upsert import insert_for
from forecourt.errors import AppError
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import chain_date, to_chain_time, utcnow
from forecourt.ledger import points, sales
from forecourt.ledger.chain import Signer, signer_for
from forecourt.rules import service as rules
from forecourt.rules.domain import Rule
from forecourt.rules.errors import AlreadyCheckedIn
from forecourt.rules.models import CheckIn, RewardGrant, TaskProgress
from forecourt.tiers import service as tiers


class _AlreadyGranted(AppError):
    code = "reward_already_granted"


@lru_cache(maxsize=4)
def _signer_for(spec: str) -> Signer:
    return signer_for(spec)


def event_signer() -> Signer:
    """The ledger signer for work done in outbox handlers and jobs (no request to carry it)."""
    return _signer_for(get_settings().ledger_signing_key)


def grant(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    rule: Rule,
    *,
    key: str,
    points_: int,
    source: str,
    occurred_at: datetime,
    pending: bool = False,
) -> RewardGrant | None:
    """Give ``points_`` once under ``key``; None when it was given before."""
    if points_ <= 0 or session.get(RewardGrant, key) is not None:
        return None
    meta: dict[str, object] = {"rule": rule.code, "source": source}
    credit = points.earn_pending if pending else points.earn
    posting = credit(
        session,
        signer,
        actor,
        member_id,
        points_,
        reason=f"reward.{rule.trigger}",
        idempotency_key=f"reward:{key}",
        occurred_at=occurred_at,
        meta=meta,
    )
    row = RewardGrant(
        key=key,
        member_id=member_id,
        rule_code=rule.code,
        points=points_,
        posting_id=posting.posting.id,
        status="pending" if pending else "posted",
        source=source,
        granted_at=utcnow(),
    )
    try:
        add_unique(session, row, _AlreadyGranted())
    except _AlreadyGranted:
        return None
    return row


# --- events from the members context ---------------------------------------------------------


def _reward_once(session: Session, event: Event, trigger: str, member_id: uuid.UUID) -> None:
    """Each active rule of ``trigger`` rewards the member once (key: rule and member)."""
    for rule in rules.event_rules(session, trigger):
        grant(
            session,
            event_signer(),
            SYSTEM,
            member_id,
            rule,
            key=f"{rule.code}:{member_id}",
            points_=rule.action.points,
            source=trigger,
            occurred_at=event.occurred_at,
        )


@subscribe("member.plate_bound", name="rewards.welcome")
def welcome_on_first_plate(session: Session, event: Event) -> None:
    if event.payload.get("first"):
        _reward_once(session, event, "first_plate", uuid.UUID(event.payload["member_id"]))


@subscribe("member.registered", name="rewards.referral")
def referral_on_registration(session: Session, event: Event) -> None:
    """Both sides get the referral points pending until the referee's first fueling."""
    referrer = event.payload.get("referred_by_id")
    if not referrer:
        return
    referee_id = uuid.UUID(event.payload["member_id"])
    for rule in rules.event_rules(session, "referral"):
        for side, member_id in (("referee", referee_id), ("referrer", uuid.UUID(referrer))):
            grant(
                session,
                event_signer(),
                SYSTEM,
                member_id,
                rule,
                key=f"{rule.code}:{referee_id}:{side}",
                points_=rule.action.points,
                source=f"referee:{referee_id}",
                occurred_at=event.occurred_at,
                pending=True,
            )
    fueled = tiers.first_fueling(session, referee_id)
    if fueled is not None:  # the referee fueled before this event was handled: release at once
        source_key, occurred_at = fueled
        _settle_pending_referral(
            session, event_signer(), SYSTEM, referee_id, settled_by=source_key, at=occurred_at
        )


@subscribe("member.profile_completed", name="rewards.profile")
def reward_completed_profile(session: Session, event: Event) -> None:
    _reward_once(session, event, "profile_completed", uuid.UUID(event.payload["member_id"]))


# --- sales -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleFacts:
    member_id: uuid.UUID
    sale_id: uuid.UUID
    occurred_at: datetime
    liters_by_grade: Mapping[str, Decimal]
    first: bool
    """The member's first sale: it settles their pending referral."""


def after_sale(session: Session, signer: Signer, actor: Actor, sale: SaleFacts) -> bool:
    """Rewards a completed sale triggers, in its transaction. True when any points moved."""
    moved = _settle_referral(session, signer, actor, sale) if sale.first else False
    for rule in rules.event_rules(session, "monthly_task"):
        moved = _advance_task(session, signer, actor, rule, sale) or moved
    return moved


def _settle_referral(session: Session, signer: Signer, actor: Actor, sale: SaleFacts) -> bool:
    return _settle_pending_referral(
        session, signer, actor, sale.member_id, settled_by=f"sale:{sale.sale_id}", at=sale.occurred_at
    )


def _settle_pending_referral(
    session: Session, signer: Signer, actor: Actor, referee_id: uuid.UUID, *, settled_by: str, at: datetime
) -> bool:
    """Post both sides' pending referral points; ``settled_by`` names the first fueling's sale."""
    pending = session.scalars(
        select(RewardGrant).where(
            RewardGrant.source == f"referee:{referee_id}", RewardGrant.status == "pending"
        )
    ).all()
    for row in pending:
        settled = points.settle_pending(
            session, signer, actor, row.posting_id, outcome="post", occurred_at=at
        )
        row.status = "posted"
        row.settled_by = settled_by
        row.settle_posting_id = settled.posting.id
    return bool(pending)


def _advance_task(session: Session, signer: Signer, actor: Actor, rule: Rule, sale: SaleFacts) -> bool:
    """Add the sale's litres of the task's grades to this month's progress (one atomic upsert);
    reward once at the threshold (``params.min_liters``)."""
    liters = sum(
        (v for grade, v in sale.liters_by_grade.items() if not rule.grades or grade in rule.grades),
        Decimal(0),
    )
    if liters <= 0:
        return False
    month = to_chain_time(sale.occurred_at).strftime("%Y-%m")
    key = f"{rule.code}:{sale.member_id}:{month}"
    if session.get(RewardGrant, key) is not None:
        return False
    statement = insert_for(session, TaskProgress).values(
        rule_code=rule.code, member_id=sale.member_id, period=month, amount_centi=int(liters * 100)
    )
    reached = session.execute(
        statement.on_conflict_do_update(
            index_elements=["rule_code", "member_id", "period"],
            set_={"amount_centi": TaskProgress.amount_centi + statement.excluded.amount_centi},
        ).returning(TaskProgress.amount_centi)
    ).scalar_one()
    if reached < int(Decimal(str(rule.action.params["min_liters"])) * 100):
        return False
    granted = grant(
        session,
        signer,
        actor,
        sale.member_id,
        rule,
        key=key,
        points_=rule.action.points,
        source=f"task:{month}",
        occurred_at=sale.occurred_at,
    )
    return granted is not None


def after_refund(
    session: Session, signer: Signer, actor: Actor, sale_id: uuid.UUID, *, full: bool, occurred_at: datetime
) -> None:
    """A fully refunded first fueling takes back the referral points it released (from both)."""
    if not full:
        return
    released = session.scalars(
        select(RewardGrant).where(RewardGrant.settled_by == f"sale:{sale_id}", RewardGrant.status == "posted")
    ).all()
    for row in released:
        sales.claw_back(
            session,
            signer,
            actor,
            row.member_id,
            row.points,
            idempotency_key=f"reward:{row.key}:reversed",
            reason="reward.reversed",
            occurred_at=occurred_at,
            prefer_posting=row.settle_posting_id,
            meta={"rule": row.rule_code, "sale_id": str(sale_id)},
        )
        row.status = "reversed"


# --- daily check-in --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInResult:
    day: date
    streak: int
    points: int


def check_in(
    session: Session, signer: Signer, actor: Actor, member_id: uuid.UUID, now: datetime
) -> CheckInResult:
    """Today's check-in (chain-local day): base points, plus the streak bonus on every
    ``streak_days``-th consecutive day. Twice a day is ``already_checked_in``."""
    day = chain_date(now)
    if session.get(CheckIn, (member_id, day)) is not None:
        raise AlreadyCheckedIn(day=day.isoformat())
    yesterday = session.get(CheckIn, (member_id, day - timedelta(days=1)))
    streak = yesterday.streak + 1 if yesterday is not None else 1
    earned = 0
    for rule in rules.event_rules(session, "check_in"):
        every = int(rule.action.params.get("streak_days", 0) or 0)
        bonus = int(rule.action.params.get("streak_bonus", 0) or 0) if every and streak % every == 0 else 0
        earned += rule.action.points + bonus
        points.earn(
            session,
            signer,
            actor,
            member_id,
            rule.action.points + bonus,
            reason="reward.check_in",
            idempotency_key=f"reward:{rule.code}:{member_id}:{day.isoformat()}",
            occurred_at=now,
            meta={"rule": rule.code, "streak": streak},
        )
    add_unique(
        session,
        CheckIn(member_id=member_id, day=day, streak=streak, points=earned, checked_in_at=now),
        AlreadyCheckedIn(day=day.isoformat()),
    )
    return CheckInResult(day=day, streak=streak, points=earned)


def check_in_status(session: Session, member_id: uuid.UUID, now: datetime) -> CheckInResult | None:
    day = chain_date(now)
    row = session.get(CheckIn, (member_id, day)) or session.get(CheckIn, (member_id, day - timedelta(days=1)))
    return CheckInResult(day=row.day, streak=row.streak, points=row.points) if row is not None else None
