"""Points movements of refunded sales: redeemed points come back, earned points are clawed back.

- ``return_redeemed``: points a sale redeemed come back as *new* lots, each with the expiry of the
  lot the points were originally taken from (latest-expiring first: what was taken last comes back
  first), so a refund neither extends nor shortens their life.
- ``claw_back``: points a sale earned are taken back, from the lots that sale opened first. If the
  member has already spent them, the balance goes below zero: the debt is paid by their next
  earnings before anything becomes spendable, and nothing can be spent meanwhile.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.kit.actor import Actor
from forecourt.ledger import engine, points
from forecourt.ledger.chain import Signer
from forecourt.ledger.engine import LotRules, PostingResult
from forecourt.ledger.errors import InvalidAmount, PostingNotFound
from forecourt.ledger.models import Lot, LotMovement, Posting


def return_redeemed(
    session: Session,
    signer: Signer,
    actor: Actor,
    spend_posting_id: uuid.UUID,
    amount: int,
    *,
    idempotency_key: str,
    occurred_at: datetime,
    station: str | None = None,
    meta: dict[str, object] | None = None,
) -> list[PostingResult]:
    """Give back ``amount`` of the points a spend took, as new lots keeping the original expiries
    (one posting per expiry, keys ``<idempotency_key>:<n>``)."""
    if amount <= 0:
        raise InvalidAmount(amount=amount)
    spend = session.get(Posting, spend_posting_id)
    if spend is None or spend.asset != points.ASSET:
        raise PostingNotFound(posting_id=str(spend_posting_id))
    taken = session.execute(
        select(LotMovement.amount, Lot.expires_at, Lot.account_id)
        .join(Lot, Lot.id == LotMovement.lot_id)
        .where(LotMovement.posting_id == spend_posting_id, LotMovement.amount < 0)
        .order_by(Lot.expires_at.desc().nulls_first(), Lot.id.desc())
    ).all()
    if not taken:
        raise PostingNotFound("That posting took no points from lots.", posting_id=str(spend_posting_id))
    member_id = _member_of(session, taken[0].account_id)
    results: list[PostingResult] = []
    left = amount
    for n, (moved, expires_at, _) in enumerate(taken):
        if left == 0:
            break
        give = min(left, -moved)
        left -= give
        results.append(
            points.earn(
                session,
                signer,
                actor,
                member_id,
                give,
                reason="sale.refund.return",
                idempotency_key=f"{idempotency_key}:{n}",
                occurred_at=occurred_at,
                expires_at=expires_at,
                source="redemption",
                station=station,
                meta={**(meta or {}), "returns": str(spend_posting_id)},
            )
        )
    if left:
        raise InvalidAmount("More than the posting took.", amount=amount)
    return results


def claw_back(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount: int,
    *,
    idempotency_key: str,
    reason: str,
    occurred_at: datetime,
    prefer_posting: uuid.UUID | None = None,
    station: str | None = None,
    meta: dict[str, object] | None = None,
) -> PostingResult:
    """Take back ``amount`` earned points (to the issuance account they came from), from the lots
    ``prefer_posting`` opened first; the balance may go below zero (see the module docstring)."""
    if amount <= 0:
        raise InvalidAmount(amount=amount)
    available = engine.member_account(session, points.ASSET, member_id, "available")
    prefer = (
        list(session.scalars(select(Lot.id).where(Lot.posting_id == prefer_posting)))
        if prefer_posting is not None
        else []
    )
    return engine.post(
        session,
        signer,
        asset=points.ASSET,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        legs=[(available, -amount), (points.program(session, "issuance"), amount)],
        occurred_at=occurred_at,
        station=station,
        meta=meta,
        lots=LotRules(prefer=prefer),
        overdraft=True,
    )


def _member_of(session: Session, account_id: uuid.UUID) -> uuid.UUID:
    from forecourt.ledger.models import LedgerAccount

    account = session.get_one(LedgerAccount, account_id)
    if account.member_id is None:
        raise PostingNotFound("Not a member's posting.")
    return account.member_id
