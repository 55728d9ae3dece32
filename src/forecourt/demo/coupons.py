"""The demo's coupons, issued through the coupons context as they would have been at the time, so the
coupon funnel (issued → claimed → used) has something to show.

Before the fueling history: the drivers of the history get the new-member pack at the start of the
period (under the pack's own source key, so the ``member.registered`` subscriber does not give it
again; every other member gets it from that subscriber when the outbox is dispatched); a printed
flyer batch of 200 codes, some of which drivers type in over the period; and member-day coupons
claimed on the 8ths of the period. During the history some personas commit with
``"coupons": "auto"`` (``forecourt.demo.history``). After it: a campaign issued today to the
ride-hailing drivers' tag.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forecourt.coupons import issuance, templates
from forecourt.coupons.errors import CouponOutOfStock
from forecourt.coupons.models import Coupon
from forecourt.coupons.schemas import BatchCreate, IssueRequest, TemplateCreate
from forecourt.db.session import Database
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone
from forecourt.members.models import Member

FLYER_TEMPLATE = "FLYER-150-12"
CAMPAIGN_TEMPLATE = "RIDE-PL30"
CAMPAIGN = "ride-hailing-thanks"
FLYER_CODES = 200
FLYER_REDEEMED = 0.3
"""Share of the printed codes that drivers type in."""
MEMBER_DAY_CLAIMERS = 0.4
"""Share of the history's drivers who claim the member-day coupon on an 8th."""
PACK_BATCH = 50

DEMO_TEMPLATES: tuple[dict[str, object], ...] = (
    {"code": FLYER_TEMPLATE, "name": "传单券 满150减12", "kind": "amount_off",
     "terms": {"amount_off_fen": 1200, "threshold_fen": 15000}, "valid_days": 30, "funder": "station"},
    {"code": CAMPAIGN_TEMPLATE, "name": "网约车专享 每升立减0.3元", "kind": "per_liter",
     "terms": {"per_liter_fen": 30, "max_liters": "50"}, "valid_days": 14},
)  # fmt: skip


def before_history(
    database: Database,
    actor: Actor,
    drivers: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> None:
    """Packs, the flyer batch and its redeemed codes, and member-day claims over [start, end)."""
    for offset in range(0, len(drivers), PACK_BATCH):
        chunk = drivers[offset : offset + PACK_BATCH]
        database.run(lambda session, chunk=chunk: _packs(session, chunk, start))  # type: ignore[misc]
    database.run(lambda session: _flyers(session, actor, drivers, start, end, rng))
    database.run(lambda session: _member_days(session, actor, drivers, start, end, rng))


def _packs(session: Session, drivers: Sequence[uuid.UUID], start: datetime) -> None:
    joined = {
        row.id: row.created_at
        for row in session.execute(select(Member.id, Member.created_at).where(Member.id.in_(drivers)))
    }
    for member_id in drivers:
        issuance.issue_pack(
            session,
            templates.NEW_MEMBER_PACK,
            member_id,
            source=f"pack:{templates.NEW_MEMBER_PACK}:{member_id}",
            now=max(start, joined[member_id]),
        )


def _flyers(
    session: Session,
    actor: Actor,
    drivers: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> None:
    for document in DEMO_TEMPLATES:
        templates.create_template(session, actor, TemplateCreate.model_validate(document))
    batch = issuance.create_batch(
        session,
        actor,
        FLYER_TEMPLATE,
        BatchCreate(size=FLYER_CODES, channel="batch", note="北京路站 开业传单"),
    )
    # The flyers were printed when the period began (the loader runs today).
    batch.created_at = start
    session.execute(
        update(Coupon)
        .where(Coupon.batch_id == batch.id)
        .values(issued_at=start)
        .execution_options(synchronize_session=False)
    )
    codes = sorted(
        code
        for code in session.scalars(select(Coupon.printed_code).where(Coupon.batch_id == batch.id))
        if code
    )
    takers = rng.sample(list(drivers), min(len(drivers), int(FLYER_CODES * FLYER_REDEEMED)))
    span = (end - start) * 0.6
    for member_id, code in zip(takers, codes, strict=False):
        issuance.redeem_code(session, member_id, code, start + span * rng.random())


def member_days(start: datetime, end: datetime) -> list[datetime]:
    """The 8ths (chain time) in [start, end), and at least the last one before ``end``."""
    local_end = end.astimezone(chain_zone()).date()
    day = local_end.replace(day=issuance.MEMBER_DAY)
    if day > local_end:
        day = (day.replace(day=1) - timedelta(days=1)).replace(day=issuance.MEMBER_DAY)
    days: list[datetime] = []
    while True:
        days.append(datetime.combine(day, time(0), tzinfo=chain_zone()))
        day = (day.replace(day=1) - timedelta(days=1)).replace(day=issuance.MEMBER_DAY)
        if datetime.combine(day, time(0), tzinfo=chain_zone()) < start:
            return sorted(days)


def _member_days(
    session: Session,
    actor: Actor,
    drivers: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> None:
    for midnight in member_days(start, end):
        for member_id in drivers:
            if rng.random() >= MEMBER_DAY_CLAIMERS:
                continue
            at = midnight + timedelta(hours=rng.randrange(7, 22), minutes=rng.randrange(60))
            if at >= end:
                continue
            try:
                issuance.claim(session, actor, member_id, templates.MEMBER_DAY_TEMPLATE, at)
            except CouponOutOfStock:
                break


def after_history(database: Database, actor: Actor) -> None:
    """Today's campaign: a per-litre coupon for every driver tagged as ride-hailing."""
    database.run(
        lambda session: issuance.issue_to_members(
            session, actor, CAMPAIGN_TEMPLATE, IssueRequest(tag="ride_hailing", campaign=CAMPAIGN)
        )
    )
