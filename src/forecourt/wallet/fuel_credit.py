"""Fuel credit (加油金, SPEC W1): stored value the chain gives, usable on fuel only, until it expires.

Accounts (asset ``cny``, integer fen): each member has a ``fuel_credit`` account kept in lots with an
expiry (``ledger.engine.LOT_PURPOSES``); the program has ``fuel_credit_funding`` (what the chain
grants), ``sales`` (stored value spent at the pump, shared with the wallet) and
``fuel_credit_expiry`` (what expired unused).

- ``grant``: staff or marketing give an amount with an expiry (audited, once per key).
- ``usable``: what the member can spend at a moment — the lots not yet expired. A lot past its expiry
  is never spent, even before the expiry job has moved it out.
- ``pay_for_sale``: a sale's fuel-credit part, from the earliest-expiring usable lots first, checked
  under the account's row lock so concurrent sales never spend the same fen twice.
- ``refund``: a refund's fuel-credit part comes back as new lots keeping the expiry of the lots it was
  taken from (latest-expiring first, as ``ledger.sales.return_redeemed`` does for points), so a refund
  neither extends nor shortens its life. If that expiry has already passed, the returned lot is born
  expired: it is never spendable and the next ``expire-fuel-credit`` run moves it to
  ``fuel_credit_expiry``.
- ``expire_due``: moves every lot due at ``at`` to ``fuel_credit_expiry``; idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.ledger import engine
from forecourt.ledger.chain import Signer
from forecourt.ledger.engine import AccountRef, LotRules, PostingResult
from forecourt.ledger.errors import InsufficientBalance
from forecourt.ledger.models import Entry, LedgerAccount, Lot, LotMovement, Posting
from forecourt.wallet.errors import InsufficientWalletBalance

ASSET = "cny"
PURPOSE = "fuel_credit"
FUNDING = "fuel_credit_funding"
EXPIRY = "fuel_credit_expiry"
SALES = "sales"
PAYMENT_METHOD = "fuel_credit"
"""The sale's payment row for what fuel credit paid."""
MAX_GRANT_FEN = 10_000_000


def account(member_id: uuid.UUID) -> AccountRef:
    return AccountRef(engine.member_account_code(ASSET, member_id, PURPOSE), ASSET, PURPOSE, member_id)


def _program(purpose: str) -> AccountRef:
    return AccountRef(engine.program_account_code(ASSET, purpose), ASSET, purpose)


@dataclass(frozen=True)
class UsableLot:
    lot_id: uuid.UUID
    remaining: int
    expires_at: datetime | None


def usable_lots(session: Session, member_id: uuid.UUID, at: datetime) -> list[UsableLot]:
    """The member's lots not expired at ``at``, earliest-expiring first."""
    rows = session.execute(
        select(Lot.id, Lot.remaining, Lot.expires_at)
        .where(
            Lot.account_id == account(member_id).id,
            Lot.remaining > 0,
            (Lot.expires_at.is_(None)) | (Lot.expires_at > at),
        )
        .order_by(Lot.expires_at.asc().nulls_last(), Lot.created_at, Lot.id)
    ).all()
    return [UsableLot(lot_id, int(remaining), expires_at) for lot_id, remaining, expires_at in rows]


def usable(session: Session, member_id: uuid.UUID, at: datetime) -> int:
    """Fuel credit the member can spend at ``at`` (fen): the remaining of lots not expired then."""
    return sum(lot.remaining for lot in usable_lots(session, member_id, at))


@dataclass(frozen=True)
class Grant:
    posting_id: uuid.UUID
    member_id: uuid.UUID
    amount_fen: int
    expires_at: datetime
    reason: str
    replayed: bool


def grant(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount_fen: int,
    *,
    expires_at: datetime,
    reason: str,
    idempotency_key: str,
) -> Grant:
    """Give the member ``amount_fen`` of fuel credit that expires at ``expires_at`` (audited)."""
    now = utcnow()
    if amount_fen <= 0 or amount_fen > MAX_GRANT_FEN:
        raise InvalidRequest("Fuel credit is a positive amount of fen.", amount_fen=amount_fen)
    if expires_at <= now:
        raise InvalidRequest("Fuel credit must expire in the future.", expires_at=expires_at.isoformat())
    result = engine.post(
        session,
        signer,
        asset=ASSET,
        reason="wallet.fuel_credit.grant",
        idempotency_key=f"fuel-credit:grant:{idempotency_key}",
        actor=actor,
        legs=[(_program(FUNDING), -amount_fen), (account(member_id), amount_fen)],
        occurred_at=now,
        memo=reason,
        meta={"expires_at": expires_at.isoformat(), "reason": reason},
        lots=LotRules(expires_at=expires_at),
    )
    if not result.replayed:
        audit.record(
            session,
            actor,
            "wallet.fuel_credit.grant",
            "member",
            member_id,
            after={"amount_fen": amount_fen, "expires_at": expires_at.isoformat(), "reason": reason},
        )
    return Grant(result.posting.id, member_id, amount_fen, expires_at, reason, result.replayed)


def _lock(session: Session, member_id: uuid.UUID) -> None:
    """Hold the account's row (PostgreSQL ``FOR UPDATE``) while its usable lots are read and spent."""
    session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == account(member_id).id).with_for_update()
    ).first()


def pay_for_sale(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount_fen: int,
    *,
    sale_id: uuid.UUID,
    occurred_at: datetime,
    station: str,
) -> PostingResult:
    """Take the sale's fuel-credit part from usable lots; ``insufficient_wallet_balance`` if they no
    longer cover it (another sale got there first, or a lot expired)."""
    _lock(session, member_id)
    lots = usable_lots(session, member_id, occurred_at)
    if sum(lot.remaining for lot in lots) < amount_fen:
        raise InsufficientWalletBalance(needed_fen=amount_fen, account=PURPOSE)
    try:
        return engine.post(
            session,
            signer,
            asset=ASSET,
            reason="wallet.fuel_credit.sale",
            idempotency_key=_sale_key(sale_id),
            actor=actor,
            legs=[(account(member_id), -amount_fen), (_program(SALES), amount_fen)],
            occurred_at=occurred_at,
            station=station,
            meta={"sale_id": str(sale_id)},
            lots=LotRules(prefer=[lot.lot_id for lot in lots]),
        )
    except InsufficientBalance as exc:
        raise InsufficientWalletBalance(needed_fen=amount_fen, account=PURPOSE) from exc


def _sale_key(sale_id: uuid.UUID) -> str:
    return f"sale:{sale_id}:fuel_credit"


def refund(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount_fen: int,
    *,
    sale_id: uuid.UUID,
    returned_before_fen: int,
    refund_id: uuid.UUID,
    occurred_at: datetime,
    station: str | None,
) -> list[PostingResult]:
    """Give back ``amount_fen`` of what the sale's fuel credit took, after the ``returned_before_fen``
    earlier refunds gave back: new lots with the expiry of the lots it came from, latest-expiring
    first (one posting per lot, keys ``refund:<id>:fuel_credit:<n>``)."""
    spend_id = session.scalar(select(Posting.id).where(Posting.idempotency_key == _sale_key(sale_id)))
    if spend_id is None or amount_fen <= 0:
        return []
    taken = session.execute(
        select(LotMovement.amount, Lot.expires_at)
        .join(Lot, Lot.id == LotMovement.lot_id)
        .where(LotMovement.posting_id == spend_id, LotMovement.amount < 0)
        .order_by(Lot.expires_at.desc().nulls_first(), Lot.id.desc())
    ).all()
    skip, left = returned_before_fen, amount_fen
    results: list[PostingResult] = []
    for n, (moved, expires_at) in enumerate(taken):
        available = -int(moved)
        passed = min(skip, available)
        skip -= passed
        give = min(left, available - passed)
        if give <= 0:
            continue
        left -= give
        results.append(
            engine.post(
                session,
                signer,
                asset=ASSET,
                reason="wallet.fuel_credit.refund",
                idempotency_key=f"refund:{refund_id}:fuel_credit:{n}",
                actor=actor,
                legs=[(_program(SALES), -give), (account(member_id), give)],
                occurred_at=occurred_at,
                station=station,
                meta={"sale_id": str(sale_id), "refund_id": str(refund_id), "returns": str(spend_id)},
                lots=LotRules(expires_at=expires_at),
            )
        )
        if left == 0:
            break
    if left:
        raise InvalidRequest("More fuel credit than the sale took.", amount_fen=amount_fen)
    return results


@dataclass(frozen=True)
class ExpiryReport:
    lots: int
    fen: int


def expire_due(
    session: Session, signer: Signer, actor: Actor, at: datetime, *, limit: int = 1000
) -> ExpiryReport:
    """Move up to ``limit`` fuel-credit lots due at ``at`` to ``fuel_credit_expiry``; idempotent
    (key ``fuel-credit-expire:<lot>:<its movements>``, so a lot given back to after a drain is
    drained again, once)."""
    due = session.execute(
        select(Lot.id, Lot.remaining, Lot.expires_at, LedgerAccount.code, LedgerAccount.member_id)
        .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
        .where(
            LedgerAccount.asset == ASSET,
            LedgerAccount.purpose == PURPOSE,
            Lot.expires_at <= at,
            Lot.remaining > 0,
        )
        .order_by(Lot.expires_at, Lot.id)
        .limit(limit)
    ).all()
    fen = engine.drain_lots(
        session,
        signer,
        actor,
        [
            engine.DueLot(
                lot_id=lot.id,
                account=AccountRef(lot.code, ASSET, PURPOSE, lot.member_id),
                remaining=lot.remaining,
                occurred_at=lot.expires_at or at,
            )
            for lot in due
        ],
        sink=_program(EXPIRY),
        reason="wallet.fuel_credit.expiry",
        key_prefix="fuel-credit-expire",
    )
    return ExpiryReport(lots=len(due), fen=fen)


def program_total(session: Session, purpose: str) -> int:
    """A program account's total (program accounts keep no running balance): the sum of its entries."""
    total = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(LedgerAccount.code == engine.program_account_code(ASSET, purpose))
    )
    return int(total or 0)
