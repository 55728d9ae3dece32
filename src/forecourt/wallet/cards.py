"""Prepaid recharge cards (SPEC W1): printed in batches, activated when sold at a counter, redeemed
once into a member's wallet with the card's code and PIN.

- Codes are unguessable like coupon codes (``coupons.issuance.new_code``, 120 random bits).
- PINs are 8 digits from ``secrets`` and only a keyed digest is stored (HMAC with the application
  secret key, as the members' blind indexes are made). A PIN exists only in the batch's CSV export:
  the PINs are drawn when the batch is exported, and a batch can be exported once (printing is a
  one-time act; a second export is ``recharge_cards_already_exported``). Until then a card has no
  PIN (``UNPRINTED``): it can be neither activated nor redeemed.
- A card moves ``issued`` → ``active`` (sold at a counter, by station staff) → ``redeemed`` into a
  wallet, once; or ``void`` (lost, stolen, a misprint). The move to ``redeemed`` is a conditional
  update (``where status = 'active'``), so two members racing with the right PIN get exactly one
  top-up, on either database.
- Wrong PINs are counted on the card (even though the request fails); the 5th locks the card
  (``recharge_card_locked``) and the PIN is checked before anything about the card's state is told.

No bonus: a card's value is its face. The card is a bearer voucher bought at the counter at that
face value, often as a gift or by a company in bulk, and its price is settled when it is sold; the
top-up bonus tiers are the program's reward for a member topping up their own wallet, and applying
them at redemption would make the card worth more than printed, by whatever tiers are in force on
the day it is redeemed rather than the day it was paid for. A promotion on cards belongs in the
price at the counter.
"""

from __future__ import annotations

import csv
import hmac
import io
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.coupons.issuance import new_code, normalise_code
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import blind_index
from forecourt.kit.ids import new_id
from forecourt.ledger.chain import Signer
from forecourt.wallet import service as wallet
from forecourt.wallet.errors import (
    InvalidTopUp,
    RechargeCardAlreadyRedeemed,
    RechargeCardBatchNotFound,
    RechargeCardLocked,
    RechargeCardNotActivatable,
    RechargeCardNotActive,
    RechargeCardNotFound,
    RechargeCardNotPrinted,
    RechargeCardNowLocked,
    RechargeCardPinWrong,
    RechargeCardsAlreadyExported,
    RechargeCardVoid,
)
from forecourt.wallet.models import RechargeCard, RechargeCardBatch, WalletTopUp

ISSUED, ACTIVE, REDEEMED, VOID = "issued", "active", "redeemed", "void"
UNPRINTED = "unprinted"
"""The PIN digest of a card whose batch was not exported yet: no hex digest ever equals it."""
MAX_PIN_TRIES = 5
PIN_DIGITS = 8
MAX_BATCH_SIZE = 10_000
MAX_FACE_FEN = 1_000_000
"""¥10,000: the largest card printed."""
TOP_UP_METHOD = "recharge_card"


def new_pin() -> str:
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def pin_digest(secret_key: str, code: str, pin: str) -> str:
    """HMAC-SHA256 of (card code, PIN) under the application secret key."""
    return blind_index(secret_key, "recharge_card.pin", f"{code}\x00{pin}")


# --- batches -----------------------------------------------------------------------------------------


def create_batch(
    session: Session, actor: Actor, *, face_fen: int, size: int, note: str | None
) -> RechargeCardBatch:
    """``size`` cards of ``face_fen`` each, ``issued``, without PINs until the batch is exported."""
    if not 0 < face_fen <= MAX_FACE_FEN or not 0 < size <= MAX_BATCH_SIZE:
        raise InvalidTopUp(
            "A batch is 1 to 10,000 cards of a positive face value up to ¥10,000.",
            face_fen=face_fen,
            size=size,
        )
    now = utcnow()
    batch = RechargeCardBatch(
        id=new_id(), face_fen=face_fen, size=size, note=note, created_at=now, created_by=actor.label
    )
    session.add(batch)
    session.flush()
    rows = [
        {
            "id": new_id(),
            "batch_id": batch.id,
            "code": new_code(),
            "pin_digest": UNPRINTED,
            "face_fen": face_fen,
            "status": ISSUED,
            "activated_at": None,
            "activated_by": None,
            "redeemed_at": None,
            "member_id": None,
            "failed_attempts": 0,
        }
        for _ in range(size)
    ]
    session.execute(insert(RechargeCard), rows)
    audit.record(
        session,
        actor,
        "recharge_cards.batch_created",
        "recharge_card_batch",
        batch.id,
        after={"face_fen": face_fen, "size": size, "note": note},
    )
    return batch


def get_batch(session: Session, batch_id: uuid.UUID, *, lock: bool = False) -> RechargeCardBatch:
    query = select(RechargeCardBatch).where(RechargeCardBatch.id == batch_id)
    batch = session.scalar(query.with_for_update() if lock else query)
    if batch is None:
        raise RechargeCardBatchNotFound(batch_id=str(batch_id))
    return batch


@dataclass(frozen=True)
class BatchCounts:
    issued: int
    active: int
    redeemed: int
    void: int
    printed: bool


def batch_counts(session: Session, batch: RechargeCardBatch) -> BatchCounts:
    rows = session.execute(
        select(RechargeCard.status, RechargeCard.pin_digest).where(RechargeCard.batch_id == batch.id)
    ).all()
    statuses = [status for status, _ in rows]
    return BatchCounts(
        issued=statuses.count(ISSUED),
        active=statuses.count(ACTIVE),
        redeemed=statuses.count(REDEEMED),
        void=statuses.count(VOID),
        printed=any(digest != UNPRINTED for _, digest in rows),
    )


def export_batch(session: Session, actor: Actor, secret_key: str, batch_id: uuid.UUID) -> str:
    """The batch's cards as CSV (code, PIN, face value), once: the PINs are drawn now and only
    their digests kept. Audited. A second export is ``recharge_cards_already_exported``."""
    batch = get_batch(session, batch_id, lock=True)
    cards = list(
        session.scalars(
            select(RechargeCard)
            .where(RechargeCard.batch_id == batch.id)
            .order_by(RechargeCard.code)
            .with_for_update()
        )
    )
    if any(card.pin_digest != UNPRINTED for card in cards):
        raise RechargeCardsAlreadyExported(batch_id=str(batch.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "pin", "face_fen", "face_yuan"])
    for card in cards:
        pin = new_pin()
        done = session.execute(
            update(RechargeCard)
            .where(RechargeCard.id == card.id, RechargeCard.pin_digest == UNPRINTED)
            .values(pin_digest=pin_digest(secret_key, card.code, pin))
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:  # another export got there first
            raise RechargeCardsAlreadyExported(batch_id=str(batch.id))
        writer.writerow([card.code, pin, card.face_fen, f"{card.face_fen // 100}.{card.face_fen % 100:02d}"])
    audit.record(
        session,
        actor,
        "recharge_cards.exported",
        "recharge_card_batch",
        batch.id,
        after={"cards": len(cards), "face_fen": batch.face_fen},
    )
    return out.getvalue()


def reprint_batch(session: Session, actor: Actor, secret_key: str, batch_id: uuid.UUID) -> str:
    """New PINs for the batch's cards that were printed but never sold (a lost export, a spoiled
    print run), as CSV: the old PINs of those cards stop working. Sold, redeemed and void cards keep
    theirs and are left out. Audited."""
    batch = get_batch(session, batch_id, lock=True)
    cards = list(
        session.scalars(
            select(RechargeCard)
            .where(RechargeCard.batch_id == batch.id, RechargeCard.status == ISSUED)
            .order_by(RechargeCard.code)
            .with_for_update()
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "pin", "face_fen", "face_yuan"])
    for card in cards:
        pin = new_pin()
        card.pin_digest = pin_digest(secret_key, card.code, pin)
        card.failed_attempts = 0
        writer.writerow([card.code, pin, card.face_fen, f"{card.face_fen // 100}.{card.face_fen % 100:02d}"])
    session.flush()
    audit.record(
        session,
        actor,
        "recharge_cards.reprinted",
        "recharge_card_batch",
        batch.id,
        after={"cards": len(cards), "face_fen": batch.face_fen},
    )
    return out.getvalue()


# --- cards -------------------------------------------------------------------------------------------


def get_card(session: Session, code: str, *, lock: bool = False) -> RechargeCard:
    query = select(RechargeCard).where(RechargeCard.code == normalise_code(code))
    card = session.scalar(query.with_for_update() if lock else query)
    if card is None:
        raise RechargeCardNotFound(code=code)
    return card


def activate(session: Session, actor: Actor, code: str, *, station: str | None = None) -> RechargeCard:
    """The card was sold at a counter: it can now be redeemed. Activating an active card again
    (a retry at the till) changes nothing."""
    card = get_card(session, code, lock=True)
    if card.status == ACTIVE:
        return card
    if card.status != ISSUED:
        raise RechargeCardNotActivatable(code=card.code, status=card.status)
    if card.pin_digest == UNPRINTED:
        raise RechargeCardNotPrinted(code=card.code)
    now = utcnow()
    card.status = ACTIVE
    card.activated_at = now
    card.activated_by = actor.label
    session.flush()
    audit.record(
        session,
        actor,
        "recharge_cards.activated",
        "recharge_card",
        card.id,
        before={"status": ISSUED},
        after={"status": ACTIVE, "station": station},
    )
    return card


def void(session: Session, actor: Actor, code: str, reason: str) -> RechargeCard:
    """Take a card out of use (lost, stolen, misprinted); a redeemed card stays redeemed."""
    card = get_card(session, code, lock=True)
    if card.status == VOID:
        return card
    if card.status == REDEEMED:
        raise RechargeCardAlreadyRedeemed(code=card.code)
    before = card.status
    card.status = VOID
    session.flush()
    audit.record(
        session,
        actor,
        "recharge_cards.voided",
        "recharge_card",
        card.id,
        before={"status": before},
        after={"status": VOID, "reason": reason},
    )
    return card


@dataclass(frozen=True)
class Redemption:
    card: RechargeCard
    top_up: WalletTopUp


def redeem(
    session: Session,
    signer: Signer,
    secret_key: str,
    actor: Actor,
    member_id: uuid.UUID,
    code: str,
    pin: str,
    *,
    now: datetime | None = None,
) -> Redemption:
    """The card's face value into the member's wallet as principal, once. The PIN is checked first
    (a wrong one counted; the 5th locks the card), then the card's state."""
    moment = now or utcnow()
    card = get_card(session, code, lock=True)
    if card.failed_attempts >= MAX_PIN_TRIES:
        raise RechargeCardLocked(code=card.code)
    if card.pin_digest == UNPRINTED or not hmac.compare_digest(
        card.pin_digest, pin_digest(secret_key, card.code, pin.strip())
    ):
        card.failed_attempts += 1
        session.flush()
        if card.failed_attempts >= MAX_PIN_TRIES:
            raise RechargeCardNowLocked(code=card.code)
        raise RechargeCardPinWrong(code=card.code, tries_left=MAX_PIN_TRIES - card.failed_attempts)
    if card.status == REDEEMED:
        if card.member_id == member_id:  # the member's retry of a redemption that went through
            return Redemption(card, _top_up_of(session, card))
        raise RechargeCardAlreadyRedeemed(code=card.code)
    if card.status == VOID:
        raise RechargeCardVoid(code=card.code)
    if card.status != ACTIVE:
        raise RechargeCardNotActive(code=card.code)
    taken = session.execute(
        update(RechargeCard)
        .where(RechargeCard.id == card.id, RechargeCard.status == ACTIVE)
        .values(status=REDEEMED, redeemed_at=moment, member_id=member_id)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:  # another member's redemption committed first
        raise RechargeCardAlreadyRedeemed(code=card.code)
    session.refresh(card)
    row = wallet.top_up(
        session,
        signer,
        actor,
        member_id,
        card.face_fen,
        method=TOP_UP_METHOD,
        idempotency_key=f"card:{card.id}",
        reference=card.code,
        occurred_at=moment,
        with_bonus=False,
    )
    return Redemption(card, row)


def _top_up_of(session: Session, card: RechargeCard) -> WalletTopUp:
    row = session.scalar(
        select(WalletTopUp).where(WalletTopUp.method == TOP_UP_METHOD, WalletTopUp.reference == card.code)
    )
    if row is None:  # pragma: no cover - a redeemed card always has its top-up
        raise RechargeCardAlreadyRedeemed(code=card.code)
    return row
