"""Posting to the ledger: balanced, idempotent, chained, signed, never overdrawn.

``post`` is the one way value moves. It checks the legs sum to zero, returns the earlier posting
for a repeated idempotency key (or refuses a different request under the same key), locks the
member accounts it touches in id order (PostgreSQL ``FOR UPDATE``; SQLite write transactions are
serial anyway), applies conditional balance updates that can never take a member balance below
zero, appends to each member account's hash chain, and keeps the lots of lot-tracked accounts:
a credit opens a lot (or, for a reversal, gives back to the lots the original took from), a debit
takes from the earliest-expiring lots first.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, nulls_last, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.db.unique import is_unique_violation
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger.chain import Signer, canonical_content, entry_hash, sha256_hex
from forecourt.ledger.errors import IdempotencyKeyConflict, InsufficientBalance, UnbalancedPosting
from forecourt.ledger.models import Entry, LedgerAccount, Lot, LotMovement, Posting

LOT_PURPOSES = frozenset({"available"})
"""Member account purposes whose value is kept in lots with an expiry."""


# --- accounts ---------------------------------------------------------------------------------


def member_account_code(asset: str, member_id: uuid.UUID, purpose: str) -> str:
    return f"{asset}:member:{member_id}:{purpose}"


def program_account_code(asset: str, purpose: str) -> str:
    return f"{asset}:program:{purpose}"


def _get_or_create(session: Session, code: str, make: LedgerAccount) -> LedgerAccount:
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(make)
            session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one()
    return make


def member_account(session: Session, asset: str, member_id: uuid.UUID, purpose: str) -> LedgerAccount:
    code = member_account_code(asset, member_id, purpose)
    return _get_or_create(
        session,
        code,
        LedgerAccount(
            id=new_id(), code=code, asset=asset, purpose=purpose, member_id=member_id, created_at=utcnow()
        ),
    )


def program_account(session: Session, asset: str, purpose: str) -> LedgerAccount:
    code = program_account_code(asset, purpose)
    return _get_or_create(
        session,
        code,
        LedgerAccount(id=new_id(), code=code, asset=asset, purpose=purpose, created_at=utcnow()),
    )


# --- posting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostingResult:
    posting: Posting
    replayed: bool
    """True when the idempotency key had been posted before: nothing moved this time."""


@dataclass
class LotRules:
    """How a posting treats lots: expiry of lots it opens, lots a debit should take from first, and
    (for reversals) the exact lots a credit gives back to."""

    expires_at: datetime | None = None
    prefer: Sequence[uuid.UUID] = ()
    restore: Mapping[uuid.UUID, Mapping[uuid.UUID, int]] = field(default_factory=dict)
    """account id → {lot id: amount} to give back instead of opening a new lot."""


def fingerprint(asset: str, reason: str, legs: Sequence[tuple[LedgerAccount, int]], reverses_id: Any) -> str:
    document = {
        "asset": asset,
        "reason": reason,
        "legs": sorted([account.code, amount] for account, amount in legs),
        "reverses": str(reverses_id) if reverses_id else None,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _existing(session: Session, key: str, expected: str) -> PostingResult | None:
    found = session.scalar(select(Posting).where(Posting.idempotency_key == key))
    if found is None:
        return None
    if found.fingerprint != expected:
        raise IdempotencyKeyConflict(idempotency_key=key)
    return PostingResult(found, replayed=True)


def post(
    session: Session,
    signer: Signer,
    *,
    asset: str,
    reason: str,
    idempotency_key: str,
    actor: Actor,
    legs: Sequence[tuple[LedgerAccount, int]],
    occurred_at: datetime | None = None,
    memo: str = "",
    meta: dict[str, Any] | None = None,
    reverses_id: uuid.UUID | None = None,
    lots: LotRules | None = None,
    station: str | None = None,
) -> PostingResult:
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs or sum(amount for _, amount in legs) != 0:
        raise UnbalancedPosting(legs=[[a.code, n] for a, n in legs])
    if any(account.asset != asset for account, _ in legs):
        raise UnbalancedPosting("Every leg of a posting is in the posting's asset.")
    lots = lots or LotRules()
    expected = fingerprint(asset, reason, legs, reverses_id)
    replay = _existing(session, idempotency_key, expected)
    if replay is not None:
        return replay

    members = sorted(
        {account.id: account for account, _ in legs if account.is_member}.values(), key=lambda a: a.id
    )
    locked = {
        account.id: account
        for account in session.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.id.in_([a.id for a in members]))
            .order_by(LedgerAccount.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    net: dict[uuid.UUID, int] = {}
    for account, amount in legs:
        net[account.id] = net.get(account.id, 0) + amount
    for account_id, account in locked.items():
        if account.balance + net[account_id] < 0:
            raise InsufficientBalance(
                account=account.purpose, balance=account.balance, needed=-net[account_id]
            )

    now = utcnow()
    moment = occurred_at or now
    posting_id = new_id()
    content_hash = sha256_hex(
        canonical_content(
            posting_id=str(posting_id),
            asset=asset,
            idempotency_key=idempotency_key,
            reason=reason,
            occurred_at=moment,
            reverses_id=str(reverses_id) if reverses_id else None,
            legs=[(account.code, amount) for account, amount in legs],
        )
    )
    posting = Posting(
        id=posting_id,
        asset=asset,
        idempotency_key=idempotency_key,
        reason=reason,
        actor=f"{actor.kind}:{actor.label}"[:140],
        occurred_at=moment,
        recorded_at=now,
        reverses_id=reverses_id,
        memo=memo[:200],
        station_code=station,
        meta=meta or {},
        fingerprint=expected,
        content_hash=content_hash,
        signature=signer.sign(content_hash),
        key_id=signer.key_id,
    )
    try:
        with session.begin_nested():
            session.add(posting)
            session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        replay = _existing(session, idempotency_key, expected)
        if replay is None:
            raise
        return replay

    entries: list[Entry] = []
    for account, amount in legs:
        entry = Entry(id=new_id(), posting_id=posting_id, account_id=account.id, amount=amount)
        if account.id in locked:
            _chain(session, locked[account.id], entry, content_hash)
            if account.purpose in LOT_PURPOSES:
                _move_lots(session, account, posting_id, amount, lots, now)
        entries.append(entry)
    session.add_all(entries)
    session.flush()
    return PostingResult(posting, replayed=False)


def _chain(session: Session, account: LedgerAccount, entry: Entry, content_hash: str) -> None:
    """Append the entry to the account's chain with a conditional update of balance and head."""
    seq = account.head_seq + 1
    digest = entry_hash(account.head_hash, seq, account.code, entry.amount, content_hash)
    result = session.execute(
        update(LedgerAccount)
        .where(
            LedgerAccount.id == account.id,
            LedgerAccount.head_seq == account.head_seq,
            LedgerAccount.balance + entry.amount >= 0,
        )
        .values(balance=LedgerAccount.balance + entry.amount, head_seq=seq, head_hash=digest)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InsufficientBalance(account=account.purpose)
    entry.seq, entry.prev_hash, entry.hash = seq, account.head_hash, digest
    account.balance += entry.amount
    account.head_seq, account.head_hash = seq, digest
    session.expire(account, ["balance", "head_seq", "head_hash"])


def _move_lots(
    session: Session,
    account: LedgerAccount,
    posting_id: uuid.UUID,
    amount: int,
    rules: LotRules,
    now: datetime,
) -> None:
    if amount > 0:
        restore = rules.restore.get(account.id)
        if restore:
            for lot_id, give in restore.items():
                session.execute(update(Lot).where(Lot.id == lot_id).values(remaining=Lot.remaining + give))
                session.add(LotMovement(id=new_id(), lot_id=lot_id, posting_id=posting_id, amount=give))
            return
        lot = Lot(
            id=new_id(),
            account_id=account.id,
            posting_id=posting_id,
            amount=amount,
            remaining=amount,
            expires_at=rules.expires_at,
            created_at=now,
        )
        session.add(lot)
        session.flush()
        session.add(LotMovement(id=new_id(), lot_id=lot.id, posting_id=posting_id, amount=amount))
        return
    still = -amount
    for lot in _lots_to_take(session, account.id, rules.prefer):
        if still == 0:
            break
        take = min(lot.remaining, still)
        done = session.execute(
            update(Lot)
            .where(and_(Lot.id == lot.id, Lot.remaining >= take))
            .values(remaining=Lot.remaining - take)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            raise InsufficientBalance(account=account.purpose)
        session.add(LotMovement(id=new_id(), lot_id=lot.id, posting_id=posting_id, amount=-take))
        still -= take
    if still:
        raise InsufficientBalance(account=account.purpose, missing_in_lots=still)


def _lots_to_take(session: Session, account_id: uuid.UUID, prefer: Sequence[uuid.UUID]) -> list[Lot]:
    open_lots = list(
        session.scalars(
            select(Lot)
            .where(Lot.account_id == account_id, Lot.remaining > 0)
            .order_by(nulls_last(Lot.expires_at.asc()), Lot.created_at, Lot.id)
            .execution_options(populate_existing=True)
        )
    )
    first = [lot for lot in open_lots if lot.id in set(prefer)]
    return first + [lot for lot in open_lots if lot.id not in set(prefer)]


def lot_movements(session: Session, posting_id: uuid.UUID) -> list[LotMovement]:
    return list(session.scalars(select(LotMovement).where(LotMovement.posting_id == posting_id)))


def entries_of(session: Session, posting_id: uuid.UUID) -> list[tuple[LedgerAccount, int]]:
    rows = session.execute(
        select(LedgerAccount, Entry.amount)
        .join(Entry, Entry.account_id == LedgerAccount.id)
        .where(Entry.posting_id == posting_id)
        .order_by(Entry.id)
    ).all()
    return [(account, amount) for account, amount in rows]
