"""The member's wallet on the ledger (SPEC W1): top-ups with their bonus, payments at the pump,
refunds back into the wallet.

Accounts (asset ``cny``, integer fen): each member has ``principal`` and ``bonus``; the program has
``top_ups`` (money received for top-ups), ``bonus_funding`` (what the chain gives as bonus) and
``sales`` (wallet money spent on sales). Every movement is one balanced, signed, idempotent ledger
posting, and the engine's conditional balance update means no concurrency can overdraw a wallet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger import engine
from forecourt.ledger.chain import Signer
from forecourt.ledger.engine import AccountRef, PostingResult
from forecourt.ledger.errors import InsufficientBalance
from forecourt.ledger.models import Posting
from forecourt.wallet import fuel_credit
from forecourt.wallet.domain import BonusTier, WalletSplit, bonus_for
from forecourt.wallet.errors import InsufficientWalletBalance, InvalidBonusTiers, InvalidTopUp
from forecourt.wallet.models import WalletBonusTier, WalletTopUp

ASSET = "cny"
DEFAULT_BONUS_TIERS = (BonusTier(min_fen=50_000, bonus_fen=5_000),)
"""The demo program: top up ¥500, get ¥50 (SPEC W1)."""


@dataclass(frozen=True)
class WalletBalances:
    principal_fen: int
    bonus_fen: int
    fuel_credit_fen: int = 0
    """Fuel credit usable now (lots not expired); not part of ``total_fen``: it pays fuel only."""

    @property
    def total_fen(self) -> int:
        """Principal and bonus: what the wallet can pay for anything."""
        return self.principal_fen + self.bonus_fen


def _member(session: Session, member_id: uuid.UUID, purpose: str) -> AccountRef:
    return engine.member_account(session, ASSET, member_id, purpose)


def _program(session: Session, purpose: str) -> AccountRef:
    return engine.program_account(session, ASSET, purpose)


def balances(session: Session, member_id: uuid.UUID, at: datetime | None = None) -> WalletBalances:
    """The member's principal, bonus and fuel credit usable at ``at`` (default now)."""
    return balances_of(session, member_id, engine.member_balances(session, member_id), at)


def balances_of(
    session: Session, member_id: uuid.UUID, rows: dict[tuple[str, str], int], at: datetime | None = None
) -> WalletBalances:
    """The wallet part of ``engine.member_balances`` (fuel credit read from its lots when held)."""
    held_credit = rows.get((ASSET, fuel_credit.PURPOSE))
    credit = fuel_credit.usable(session, member_id, at or utcnow()) if held_credit else 0
    return WalletBalances(
        principal_fen=rows.get((ASSET, "principal"), 0),
        bonus_fen=rows.get((ASSET, "bonus"), 0),
        fuel_credit_fen=credit,
    )


# --- bonus tiers -----------------------------------------------------------------------------------


def bonus_tiers(session: Session) -> list[BonusTier]:
    rows = session.scalars(select(WalletBonusTier).order_by(WalletBonusTier.min_fen))
    return [BonusTier(row.min_fen, row.bonus_fen) for row in rows]


def set_bonus_tiers(session: Session, actor: Actor, tiers: Sequence[BonusTier]) -> list[BonusTier]:
    """Replace the top-up bonus tiers (audited). A bonus is less than what unlocks it, and a
    higher tier never gives less."""
    ordered = sorted(tiers, key=lambda tier: tier.min_fen)
    problems = [
        f"a top-up of {tier.min_fen} fen cannot earn a bonus of {tier.bonus_fen} fen"
        for tier in ordered
        if tier.min_fen <= 0 or tier.bonus_fen < 0 or tier.bonus_fen >= tier.min_fen
    ]
    if len({tier.min_fen for tier in ordered}) != len(ordered):
        problems.append("two tiers start at the same amount")
    if any(later.bonus_fen < earlier.bonus_fen for earlier, later in pairwise(ordered)):
        problems.append("a higher tier gives less bonus than a lower one")
    if problems:
        raise InvalidBonusTiers(problems=problems)
    before = [vars_of(tier) for tier in bonus_tiers(session)]
    session.execute(delete(WalletBonusTier))
    session.add_all(WalletBonusTier(min_fen=tier.min_fen, bonus_fen=tier.bonus_fen) for tier in ordered)
    session.flush()
    audit.record(
        session,
        actor,
        "wallet.bonus_tiers",
        "wallet_bonus_tiers",
        None,
        before={"tiers": before},
        after={"tiers": [vars_of(tier) for tier in ordered]},
    )
    return ordered


def vars_of(tier: BonusTier) -> dict[str, int]:
    return {"min_fen": tier.min_fen, "bonus_fen": tier.bonus_fen}


def install_defaults(session: Session) -> None:
    """The default top-up bonus (¥500 → +¥50) on a database that has no tiers."""
    if session.scalar(select(WalletBonusTier.min_fen).limit(1)) is None:
        set_bonus_tiers(session, SYSTEM, DEFAULT_BONUS_TIERS)


# --- top-ups -----------------------------------------------------------------------------------------


def top_up(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    amount_fen: int,
    *,
    method: str,
    idempotency_key: str,
    reference: str | None = None,
    station: str | None = None,
    occurred_at: datetime | None = None,
    with_bonus: bool = True,
) -> WalletTopUp:
    """Money in: principal from the payment, plus the bonus of the tier it reaches (unless
    ``with_bonus`` is false: a recharge card's value is its face). Once per key."""
    if amount_fen <= 0:
        raise InvalidTopUp("A top-up is a positive amount of fen.", amount_fen=amount_fen)
    existing = session.scalar(
        select(WalletTopUp)
        .join(Posting, Posting.id == WalletTopUp.posting_id)
        .where(Posting.idempotency_key == f"wallet:top-up:{idempotency_key}")
    )
    if existing is not None:
        return existing
    moment = occurred_at or utcnow()
    bonus = bonus_for(bonus_tiers(session), amount_fen) if with_bonus else 0
    posting = engine.post(
        session,
        signer,
        asset=ASSET,
        reason="wallet.top_up",
        idempotency_key=f"wallet:top-up:{idempotency_key}",
        actor=actor,
        legs=[
            (_program(session, "top_ups"), -amount_fen),
            (_member(session, member_id, "principal"), amount_fen),
            (_program(session, "bonus_funding"), -bonus),
            (_member(session, member_id, "bonus"), bonus),
        ],
        occurred_at=moment,
        station=station,
        meta={"method": method, "reference": reference},
    )
    row = WalletTopUp(
        id=new_id(),
        member_id=member_id,
        amount_fen=amount_fen,
        bonus_fen=bonus,
        method=method,
        reference=reference,
        station=station,
        posting_id=posting.posting.id,
        created_at=moment,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    return row


# --- sales -------------------------------------------------------------------------------------------


def pay_for_sale(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    split: WalletSplit,
    *,
    sale_id: uuid.UUID,
    occurred_at: datetime,
    station: str,
) -> PostingResult:
    """Take the sale's wallet part; ``insufficient_wallet_balance`` if another payment got there first."""
    try:
        return engine.post(
            session,
            signer,
            asset=ASSET,
            reason="wallet.sale",
            idempotency_key=f"sale:{sale_id}:wallet",
            actor=actor,
            legs=[
                (_member(session, member_id, "principal"), -split.principal_fen),
                (_member(session, member_id, "bonus"), -split.bonus_fen),
                (_program(session, "sales"), split.total_fen),
            ],
            occurred_at=occurred_at,
            station=station,
            meta={"sale_id": str(sale_id)},
        )
    except InsufficientBalance as exc:
        raise InsufficientWalletBalance(needed_fen=split.total_fen) from exc


def refund_to_wallet(
    session: Session,
    signer: Signer,
    actor: Actor,
    member_id: uuid.UUID,
    split: WalletSplit,
    *,
    refund_id: uuid.UUID,
    occurred_at: datetime,
    station: str,
) -> PostingResult:
    """A refund's wallet part goes back into the wallet, principal and bonus as they were paid."""
    return engine.post(
        session,
        signer,
        asset=ASSET,
        reason="wallet.refund",
        idempotency_key=f"refund:{refund_id}:wallet",
        actor=actor,
        legs=[
            (_program(session, "sales"), -split.total_fen),
            (_member(session, member_id, "principal"), split.principal_fen),
            (_member(session, member_id, "bonus"), split.bonus_fen),
        ],
        occurred_at=occurred_at,
        station=station,
        meta={"refund_id": str(refund_id)},
    )
