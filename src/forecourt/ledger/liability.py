"""Liability and reconciliation (L6): daily snapshots of outstanding points × unit cost, earn/burn
and breakage over a period, and the month-end re-addition of every entry against the balances.

Everything is computed from entries (program accounts keep no cached balance), as of a moment, so a
snapshot for yesterday taken today is what it would have been yesterday.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from forecourt.kit.clock import chain_zone, utcnow
from forecourt.kit.ids import new_id
from forecourt.kit.money import half_up
from forecourt.ledger.models import Entry, LedgerAccount, LiabilitySnapshot, Lot, Posting, Reconciliation
from forecourt.ledger.points import ASSET


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=chain_zone())


def _sums_by_purpose(session: Session, as_of: datetime) -> dict[tuple[bool, str], int]:
    """(is member account, purpose) → sum of entries recorded by ``as_of``."""
    rows = session.execute(
        select(
            LedgerAccount.member_id.is_not(None),
            LedgerAccount.purpose,
            func.coalesce(func.sum(Entry.amount), 0),
        )
        .join(Entry, Entry.account_id == LedgerAccount.id)
        .join(Posting, Posting.id == Entry.posting_id)
        .where(LedgerAccount.asset == ASSET, Posting.recorded_at < as_of)
        .group_by(LedgerAccount.member_id.is_not(None), LedgerAccount.purpose)
    ).all()
    return {(bool(is_member), purpose): int(total) for is_member, purpose, total in rows}


def liability_fen(points: int, unit_cost_millifen: int) -> int:
    return half_up(Decimal(points) * unit_cost_millifen / 1000)


def take_snapshot(session: Session, day: date, unit_cost_millifen: int) -> LiabilitySnapshot:
    """The snapshot of a business day (idempotent: the existing one is returned)."""
    existing = session.scalar(
        select(LiabilitySnapshot).where(
            LiabilitySnapshot.asset == ASSET, LiabilitySnapshot.business_day == day
        )
    )
    if existing is not None:
        return existing
    as_of = end_of_day(day)
    sums = _sums_by_purpose(session, as_of)
    outstanding = sums.get((True, "available"), 0)
    pending = sums.get((True, "pending"), 0)
    snapshot = LiabilitySnapshot(
        id=new_id(),
        asset=ASSET,
        business_day=day,
        as_of=as_of,
        outstanding=outstanding,
        pending=pending,
        issued_total=-sums.get((False, "issuance"), 0),
        redeemed_total=sums.get((False, "redemption"), 0),
        expired_total=sums.get((False, "expiry"), 0),
        adjusted_total=-sums.get((False, "adjustment"), 0),
        unit_cost_millifen=unit_cost_millifen,
        liability_fen=liability_fen(outstanding + pending, unit_cost_millifen),
        created_at=utcnow(),
    )
    session.add(snapshot)
    session.flush()
    return snapshot


@dataclass(frozen=True)
class FlowLine:
    station: str | None
    earned: int
    burned: int
    expired: int


def earn_burn(session: Session, start: datetime, end: datetime) -> list[FlowLine]:
    """Points earned into, spent from and expired out of member accounts in [start, end), by station."""
    rows = session.execute(
        select(Posting.station_code, Posting.reason, func.sum(Entry.amount))
        .join(Entry, Entry.posting_id == Posting.id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            LedgerAccount.asset == ASSET,
            LedgerAccount.purpose == "available",
            Posting.occurred_at >= start,
            Posting.occurred_at < end,
        )
        .group_by(Posting.station_code, Posting.reason)
    ).all()
    lines: dict[str | None, FlowLine] = {}
    for station, reason, total in rows:
        line = lines.get(station) or FlowLine(station, 0, 0, 0)
        amount = int(total)
        if reason == "expiry":
            line = FlowLine(station, line.earned, line.burned, line.expired - amount)
        elif amount >= 0:
            line = FlowLine(station, line.earned + amount, line.burned, line.expired)
        else:
            line = FlowLine(station, line.earned, line.burned - amount, line.expired)
        lines[station] = line
    return sorted(lines.values(), key=lambda line: line.station or "")


def breakage_rate(snapshot: LiabilitySnapshot) -> Decimal:
    """Share of issued points that expired unused (0 when nothing was issued)."""
    if snapshot.issued_total <= 0:
        return Decimal(0)
    return (Decimal(snapshot.expired_total) / Decimal(snapshot.issued_total)).quantize(Decimal("0.0001"))


def reconcile(session: Session, as_of: datetime, *, keep: int = 100) -> Reconciliation:
    """Re-add every entry per member account and compare with the cached balance; all entries of all
    accounts must sum to zero. Differences are recorded (the first ``keep`` in detail)."""
    totals = dict(
        session.execute(select(Entry.account_id, func.sum(Entry.amount)).group_by(Entry.account_id)).all()
    )
    differences: list[dict[str, object]] = []
    checked = 0
    for account_id, code, balance, member_id in session.execute(
        select(LedgerAccount.id, LedgerAccount.code, LedgerAccount.balance, LedgerAccount.member_id)
    ):
        checked += 1
        if member_id is None:
            continue
        summed = int(totals.get(account_id, 0) or 0)
        if summed != balance:
            differences.append({"account": code, "balance": balance, "entries": summed})
    grand_total = sum(int(total or 0) for total in totals.values())
    record = Reconciliation(
        id=new_id(),
        as_of=as_of,
        accounts_checked=checked,
        entries_total=grand_total,
        differences=len(differences),
        details={"differences": differences[:keep]},
        ok=not differences and grand_total == 0,
        created_at=utcnow(),
    )
    session.add(record)
    session.flush()
    return record


def snapshots(session: Session, start: date, end: date) -> list[LiabilitySnapshot]:
    return list(
        session.scalars(
            select(LiabilitySnapshot)
            .where(LiabilitySnapshot.business_day >= start, LiabilitySnapshot.business_day <= end)
            .order_by(LiabilitySnapshot.business_day)
        )
    )


def member_ids_with_expiring(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    spared: Callable[[Any], ColumnElement[bool]] | None = None,
) -> list[tuple[uuid.UUID, int, datetime]]:
    """(member, points, earliest expiry) for lots expiring in [start, end); ``spared`` as in
    ``points.expire_due`` leaves out members whose points the expiry job would not take."""
    query = (
        select(LedgerAccount.member_id, func.sum(Lot.remaining), func.min(Lot.expires_at))
        .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
        .where(
            Lot.remaining > 0,
            Lot.expires_at >= start,
            Lot.expires_at < end,
            LedgerAccount.member_id.is_not(None),
            LedgerAccount.asset == ASSET,
            LedgerAccount.purpose == "available",
        )
        .group_by(LedgerAccount.member_id)
    )
    if spared is not None:
        query = query.where(~spared(LedgerAccount.member_id))
    rows = session.execute(query).all()
    return [
        (member_id, int(total), earliest)
        for member_id, total, earliest in rows
        if member_id is not None and earliest is not None
    ]
