"""Trying rules before they go live (R6): preview what a basket would earn, rule by rule, and
back-test what a draft rule would have cost over the real sales of the last N days."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from forecourt.config import get_settings
from forecourt.kit.clock import to_chain_time, utcnow
from forecourt.kit.money import half_up
from forecourt.members import repository as members_repository
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.pos.models import Sale, SaleLine
from forecourt.pos.schemas import Quote, QuoteRequest
from forecourt.pos.service import price_basket, quote_of
from forecourt.rules import calendar
from forecourt.rules import service as rules
from forecourt.rules.domain import BasketFacts, LineFacts, Rule
from forecourt.rules.schemas import RuleDocument
from forecourt.stations import service as stations
from forecourt.tiers import service as tiers
from forecourt.tiers.models import TierLevel

BATCH = 500


class PreviewRequest(QuoteRequest):
    draft_rules: list[RuleDocument] = Field(default_factory=list, max_length=20)
    """Rules not yet saved (or changed versions of saved ones) to include in the preview."""


def preview(session: Session, pii: Pii, body: PreviewRequest) -> Quote:
    """What the basket would earn at that station and moment, with ``draft_rules`` in force."""
    station = stations.get_station(session, body.station)
    rule_set = rules.draft_rule_set(session, body.draft_rules) if body.draft_rules else None
    priced = price_basket(
        session,
        pii,
        station,
        QuoteRequest.model_validate(body.model_dump(exclude={"draft_rules"})),
        utcnow(),
        rule_set=rule_set,
        check_open=False,
    )
    return quote_of(priced, priced.earning)


class BacktestRequest(BaseModel):
    rule: RuleDocument
    days: int = Field(default=30, ge=1, le=366)


class BacktestResult(BaseModel):
    rule: str
    days: int
    sales_considered: int
    sales_affected: int
    members_affected: int
    points: int
    """Points the rule would have added (negative: taken away, e.g. a stop rule or a lower rate)."""
    cost_fen: int
    """``points`` × the cost of a point (FORECOURT_POINT_UNIT_COST_MILLIFEN), half-up to the fen."""


def _periods(rule: Rule, sale: Sale) -> list[tuple[str, int]]:
    local = to_chain_time(sale.occurred_at)
    found: list[tuple[str, int]] = []
    if rule.cap_per_day is not None:
        found.append((f"D{local.date()}", rule.cap_per_day))
    if rule.cap_per_month is not None:
        found.append((f"M{local:%Y-%m}", rule.cap_per_month))
    return found


def backtest(session: Session, body: BacktestRequest) -> BacktestResult:
    """Replay every member sale of the last ``days`` through the rules in force, with and without
    the draft rule; the difference is what the rule would have cost. Caps and the budget of the
    draft rule are applied as the sales come, in order. Conditions on ``member.tags`` read the
    member's tags of today (tags keep no history)."""
    now = utcnow()
    current = rules.rule_set(session)
    drafted = rules.draft_rule_set(session, [body.rule])
    draft = drafted.by_code.get(body.rule.code)
    levels = {level.code: level for level in tiers.levels(session)}
    regions: dict[uuid.UUID, str] = {}
    needs_tags = "tags" in drafted.needed.get("member", frozenset())
    tags_of: dict[uuid.UUID, tuple[str, ...]] = {}
    usage: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    budget_left = draft.budget_points if draft is not None and draft.budget_points is not None else None
    considered = affected = points = 0
    members_hit: set[uuid.UUID] = set()
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = (
            select(Sale, Member)
            .join(Member, Member.id == Sale.member_id)
            .where(Sale.occurred_at >= now - timedelta(days=body.days), Sale.status != "refunded")
            .order_by(Sale.occurred_at, Sale.id)
            .limit(BATCH)
        )
        if after is not None:
            query = query.where(tuple_(Sale.occurred_at, Sale.id) > tuple_(*after))
        batch = session.execute(query).all()
        if not batch:
            break
        lines_of: dict[uuid.UUID, list[SaleLine]] = defaultdict(list)
        for line in session.scalars(select(SaleLine).where(SaleLine.sale_id.in_([s.id for s, _ in batch]))):
            lines_of[line.sale_id].append(line)
        for sale, member in batch:
            considered += 1
            if sale.station_id not in regions:
                regions[sale.station_id] = stations.region_code_of(
                    session, stations.get_station_by_id(session, sale.station_id)
                )
            if needs_tags and member.id not in tags_of:
                tags_of[member.id] = tuple(
                    tag.code for tag, _ in members_repository.tags_of(session, member.id)
                )
            facts = _facts(sale, member, regions[sale.station_id], levels, tags_of.get(member.id, ()))
            line_facts = [_line_facts(line) for line in lines_of[sale.id]]
            diff = drafted.earn(facts, line_facts).total - current.earn(facts, line_facts).total
            if draft is not None and diff > 0:
                room = diff
                for period, cap in _periods(draft, sale):
                    room = min(room, cap - usage[(member.id, period)])
                if budget_left is not None:
                    room = min(room, budget_left)
                diff = max(0, room)
                for period, _ in _periods(draft, sale):
                    usage[(member.id, period)] += diff
                if budget_left is not None:
                    budget_left -= diff
            if diff:
                affected += 1
                points += diff
                members_hit.add(member.id)
        last = batch[-1][0]
        after = (last.occurred_at, last.id)
    unit = get_settings().point_unit_cost_millifen
    return BacktestResult(
        rule=body.rule.code,
        days=body.days,
        sales_considered=considered,
        sales_affected=affected,
        members_affected=len(members_hit),
        points=points,
        cost_fen=half_up(Decimal(points) * unit / 1000),
    )


def _facts(
    sale: Sale, member: Member, region: str, levels: dict[str, TierLevel], tags: tuple[str, ...]
) -> BasketFacts:
    local = to_chain_time(sale.occurred_at)
    holiday, workday = calendar.holiday_facts(local.date())
    level = levels.get(sale.tier_code or "")
    return BasketFacts(
        station=sale.station_code,
        region=region,
        occurred_at=sale.occurred_at,
        local_time=local,
        is_holiday=holiday,
        is_workday=workday,
        tier=sale.tier_code or "",
        tier_multiplier_milli=level.multiplier_permille if level is not None else 1000,
        birthday_week=calendar.in_birthday_week(member.birthday, local.date()),
        birthday_today=member.birthday is not None
        and calendar.birthday_this_year(member.birthday, local.year) == local.date(),
        tags=tags,
        days_since_join=(sale.occurred_at - member.created_at).days,
    )


def _line_facts(line: SaleLine) -> LineFacts:
    return LineFacts(
        line_id=line.line_id,
        kind=line.kind,
        category=line.category,
        paid_fen=line.paid_fen,
        gross_fen=line.gross_fen,
        grade=line.grade or "",
        sku=line.sku or "",
        liters=line.liters or Decimal(0),
        quantity=line.quantity or 0,
    )
