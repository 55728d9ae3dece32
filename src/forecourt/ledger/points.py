"""Points on the ledger: earn (into a lot with an expiry), spend (earliest-expiring lots first),
pending points that are posted or voided later, reversals, and expiry.

A lot's expiry comes from ``expiry_for_member`` (the configured policy, or never for a tier with the
never-expire benefit) unless the caller gives one explicitly.

Accounts: each member has ``available`` and ``pending``; the program has ``issuance`` (where
earned points come from), ``redemption`` (where spent points go), ``expiry`` and ``adjustment``.
"""

from __future__ import annotations

import calendar
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from forecourt.config import get_settings
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_zone, to_chain_time
from forecourt.ledger import engine
from forecourt.ledger.chain import Signer
from forecourt.ledger.engine import AccountLike, AccountRef, LotRules, PostingResult
from forecourt.ledger.errors import (
    AlreadyReversed,
    IdempotencyKeyConflict,
    InsufficientBalance,
    InsufficientPoints,
    InvalidAmount,
    PendingAlreadySettled,
    PostingNotFound,
)
from forecourt.ledger.models import Entry, LedgerAccount, Lot, Posting
from forecourt.tiers import service as tiers

ASSET = "points"
ExpiryPolicy = Literal["rolling", "end_of_year"]


class ByPolicy(enum.Enum):
    BY_POLICY = "by policy"


BY_POLICY: Final = ByPolicy.BY_POLICY
"""The default ``expires_at`` of an earn: whatever ``expiry_for_member`` says."""


def expiry_for(occurred_at: datetime, *, policy: ExpiryPolicy = "rolling", months: int = 24) -> datetime:
    """When points earned at ``occurred_at`` expire. Rolling: the same local moment ``months`` later
    (clamped to the month's end). End of year: the end of the local calendar year after the earn."""
    local = to_chain_time(occurred_at)
    if policy == "end_of_year":
        return datetime.combine(
            local.date().replace(year=local.year + 2, month=1, day=1), time(0), tzinfo=chain_zone()
        )
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def expiry_by_policy(occurred_at: datetime) -> datetime:
    """When points earned at ``occurred_at`` expire under the configured policy and months."""
    settings = get_settings()
    return expiry_for(occurred_at, policy=settings.points_expiry_policy, months=settings.points_expiry_months)


def expiry_for_member(session: Session, member_id: uuid.UUID, occurred_at: datetime) -> datetime | None:
    """When points the member earns at ``occurred_at`` expire: never while their tier has the
    never-expire benefit, otherwise by the configured policy (``FORECOURT_POINTS_EXPIRY_POLICY`` and
    ``FORECOURT_POINTS_EXPIRY_MONTHS``). Points earned in such a tier keep that promise after a
    downgrade; older lots are only spared by the expiry job while the member holds the tier."""
    if tiers.points_never_expire(session, member_id):
        return None
    return expiry_by_policy(occurred_at)


def _resolve_expiry(
    session: Session, member_id: uuid.UUID, occurred_at: datetime, expires_at: datetime | ByPolicy | None
) -> datetime | None:
    if isinstance(expires_at, ByPolicy):
        return expiry_for_member(session, member_id, occurred_at)
    return expires_at


def _positive(amount: int) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidAmount(amount=amount)
    return amount


def _accounts(session: Session, member_id: uuid.UUID) -> tuple[AccountRef, AccountRef]:
    return (
        engine.member_account(session, ASSET, member_id, "available"),
        engine.member_account(session, ASSET, member_id, "pending"),
    )


def program(session: Session, purpose: str) -> AccountRef:
    return engine.program_account(session, ASSET, purpose)


def earn(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount: int,
    *,
    reason: str,
    idempotency_key: str,
    occurred_at: datetime,
    expires_at: datetime | ByPolicy | None = BY_POLICY,
    memo: str = "",
    meta: dict[str, object] | None = None,
    source: str = "issuance",
    station: str | None = None,
) -> PostingResult:
    """Credit available points in a new lot expiring by policy (``expiry_for_member``), at
    ``expires_at`` when one is given, or never when it is None."""
    available, _ = _accounts(session, member_id)
    return engine.post(
        session,
        signer,
        asset=ASSET,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        legs=[(program(session, source), -_positive(amount)), (available, amount)],
        occurred_at=occurred_at,
        memo=memo,
        meta=meta,
        station=station,
        lots=LotRules(expires_at=_resolve_expiry(session, member_id, occurred_at, expires_at)),
    )


def earn_pending(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount: int,
    *,
    reason: str,
    idempotency_key: str,
    occurred_at: datetime,
    memo: str = "",
    meta: dict[str, object] | None = None,
) -> PostingResult:
    """Points the member will have once something happens (e.g. the referee's first fueling)."""
    _, pending = _accounts(session, member_id)
    return engine.post(
        session,
        signer,
        asset=ASSET,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        legs=[(program(session, "issuance"), -_positive(amount)), (pending, amount)],
        occurred_at=occurred_at,
        memo=memo,
        meta=meta,
    )


def _pending_posting(session: Session, posting_id: uuid.UUID) -> tuple[Posting, LedgerAccount, int]:
    posting = session.get(Posting, posting_id)
    if posting is None or posting.asset != ASSET:
        raise PostingNotFound(posting_id=str(posting_id))
    for account, amount in engine.entries_of(session, posting_id):
        if account.purpose == "pending" and amount > 0:
            return posting, account, amount
    raise PostingNotFound("That posting is not a pending credit.", posting_id=str(posting_id))


def settle_pending(
    session: Session,
    signer: Signer,
    actor: Actor,
    pending_posting_id: uuid.UUID,
    *,
    outcome: Literal["post", "void"],
    occurred_at: datetime,
    expires_at: datetime | ByPolicy | None = BY_POLICY,
) -> PostingResult:
    """Post pending points (they become available, in a lot expiring as ``earn``'s would) or void
    them. Either happens once: both share the idempotency key ``settle:<pending posting>``."""
    posting, pending, amount = _pending_posting(session, pending_posting_id)
    target: AccountLike = program(session, "issuance")
    lot_expiry: datetime | None = None
    if outcome == "post" and pending.member_id is not None:
        target = engine.member_account(session, ASSET, pending.member_id, "available")
        lot_expiry = _resolve_expiry(session, pending.member_id, occurred_at, expires_at)
    legs: list[tuple[AccountLike, int]] = [(pending, -amount), (target, amount)]
    try:
        return engine.post(
            session,
            signer,
            asset=ASSET,
            reason=f"pending.{outcome}",
            idempotency_key=f"settle:{posting.id}",
            actor=actor,
            legs=legs,
            occurred_at=occurred_at,
            reverses_id=posting.id,
            meta={"settles": str(posting.id)},
            lots=LotRules(expires_at=lot_expiry),
        )
    except IdempotencyKeyConflict as exc:
        raise PendingAlreadySettled(posting_id=str(posting.id)) from exc


def spend(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount: int,
    *,
    reason: str,
    idempotency_key: str,
    occurred_at: datetime,
    memo: str = "",
    meta: dict[str, object] | None = None,
    sink: str = "redemption",
    station: str | None = None,
) -> PostingResult:
    """Take available points, earliest-expiring lots first; InsufficientPoints when they don't cover it."""
    available, _ = _accounts(session, member_id)
    try:
        return engine.post(
            session,
            signer,
            asset=ASSET,
            reason=reason,
            idempotency_key=idempotency_key,
            actor=actor,
            legs=[(available, -_positive(amount)), (program(session, sink), amount)],
            occurred_at=occurred_at,
            memo=memo,
            station=station,
            meta=meta,
        )
    except InsufficientBalance as exc:
        raise InsufficientPoints(
            needed=amount, **{k: v for k, v in exc.details.items() if k == "balance"}
        ) from exc


def reverse(
    session: Session,
    signer: Signer,
    actor: Actor,
    posting_id: uuid.UUID,
    *,
    reason: str,
    idempotency_key: str,
    occurred_at: datetime,
) -> PostingResult:
    """The mirror posting: spent points go back to the lots they came from (with their expiry);
    earned points are taken back from the lot they opened first."""
    original = session.get(Posting, posting_id)
    if original is None or original.asset != ASSET:
        raise PostingNotFound(posting_id=str(posting_id))
    earlier = session.scalar(
        select(Posting).where(Posting.reverses_id == posting_id, Posting.reason == reason)
    )
    if earlier is not None and earlier.idempotency_key != idempotency_key:
        raise AlreadyReversed(posting_id=str(posting_id))
    legs = [(account, -amount) for account, amount in engine.entries_of(session, posting_id)]
    movements = engine.lot_movements(session, posting_id)
    restore: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    prefer: list[uuid.UUID] = []
    for movement in movements:
        lot = session.get_one(Lot, movement.lot_id)
        if movement.amount < 0:
            restore.setdefault(lot.account_id, {})[lot.id] = -movement.amount
        else:
            prefer.append(lot.id)
    try:
        result = engine.post(
            session,
            signer,
            asset=ASSET,
            reason=reason,
            idempotency_key=idempotency_key,
            actor=actor,
            legs=legs,
            occurred_at=occurred_at,
            reverses_id=posting_id,
            lots=LotRules(prefer=prefer, restore=restore),
        )
    except InsufficientBalance as exc:
        raise InsufficientPoints("The member has already spent the points this would take back.") from exc
    return result


@dataclass(frozen=True)
class ExpiryReport:
    lots: int
    points: int


def expire_due(
    session: Session,
    signer: Signer,
    actor: Actor,
    at: datetime,
    *,
    limit: int = 1000,
    spared: Callable[[Any], ColumnElement[bool]] | None = None,
) -> ExpiryReport:
    """Expire up to ``limit`` lots due at ``at``; idempotent (key ``expire:<lot>:<its movements>``).
    ``spared(member_id_column)`` is a condition true for members whose points do not expire (a tier
    benefit); it is checked per due lot, so the cost does not grow with the member base."""
    query = (
        select(Lot)
        .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
        .where(
            Lot.expires_at <= at,
            Lot.remaining > 0,
            LedgerAccount.asset == ASSET,
            LedgerAccount.purpose == "available",
        )
        .order_by(Lot.expires_at, Lot.id)
        .limit(limit)
    )
    if spared is not None:
        query = query.where(~spared(LedgerAccount.member_id))
    due = session.execute(
        query.with_only_columns(
            Lot.id,
            Lot.remaining,
            Lot.expires_at,
            LedgerAccount.code,
            LedgerAccount.purpose,
            LedgerAccount.member_id,
        )
    ).all()
    points = engine.drain_lots(
        session,
        signer,
        actor,
        [
            engine.DueLot(
                lot_id=lot.id,
                account=AccountRef(lot.code, ASSET, lot.purpose, lot.member_id),
                remaining=lot.remaining,
                occurred_at=lot.expires_at or at,
            )
            for lot in due
        ],
        sink=program(session, "expiry"),
        reason="expiry",
        key_prefix="expire",
    )
    return ExpiryReport(lots=len(due), points=points)


@dataclass(frozen=True)
class Balances:
    available: int
    pending: int


def balances(session: Session, member_id: uuid.UUID) -> Balances:
    return balances_of(engine.member_balances(session, member_id))


def balances_of(rows: dict[tuple[str, str], int]) -> Balances:
    """The points part of ``engine.member_balances``."""
    return Balances(available=rows.get((ASSET, "available"), 0), pending=rows.get((ASSET, "pending"), 0))


def expiring(session: Session, member_id: uuid.UUID, *, within: timedelta, now: datetime) -> list[Lot]:
    """Open lots of the member expiring within ``within``, soonest first."""
    return list(
        session.scalars(
            select(Lot)
            .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
            .where(
                LedgerAccount.member_id == member_id,
                LedgerAccount.asset == ASSET,
                Lot.remaining > 0,
                Lot.expires_at <= now + within,
            )
            .order_by(Lot.expires_at)
        )
    )


def program_balance(session: Session, purpose: str) -> int:
    """A program account's balance: the sum of its entries (program accounts keep no cached balance)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(LedgerAccount.code == engine.program_account_code(ASSET, purpose))
    )
    return int(total or 0)
