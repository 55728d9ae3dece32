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
from typing import Any, Protocol

from sqlalchemy import BigInteger, bindparam, func, insert, nulls_last, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from forecourt.db.base import Base
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger.chain import Signer, canonical_content, entry_hash, sha256_hex
from forecourt.ledger.errors import IdempotencyKeyConflict, InsufficientBalance, UnbalancedPosting
from forecourt.ledger.models import GENESIS, Entry, LedgerAccount, Lot, LotMovement, Posting

LOT_PURPOSES = frozenset({"available", "fuel_credit"})
"""Member account purposes whose value is kept in lots with an expiry."""

ACCOUNT_NAMESPACE = uuid.UUID("6f1c3a52-52a4-4c8e-9d0b-3d4f7a1e2b90")

# The hot path runs prebuilt Core statements with parameters (no ORM unit of work, no statement
# construction per posting): a posting is about eight round trips and little Python.
_accounts_t = Base.metadata.tables[LedgerAccount.__tablename__]
_postings_t = Base.metadata.tables[Posting.__tablename__]
_entries_t = Base.metadata.tables[Entry.__tablename__]
_lots_t = Base.metadata.tables[Lot.__tablename__]
_movements_t = Base.metadata.tables[LotMovement.__tablename__]

_FIND_POSTING = select(_postings_t.c.id, _postings_t.c.fingerprint).where(
    _postings_t.c.idempotency_key == bindparam("key")
)
_LOCK_HEADS = (
    select(_accounts_t.c.id, _accounts_t.c.balance, _accounts_t.c.head_seq, _accounts_t.c.head_hash)
    .where(_accounts_t.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_accounts_t.c.id)
    .with_for_update()
)
_ADVANCE_HEAD = (
    update(_accounts_t)
    .where(
        _accounts_t.c.id == bindparam("account_id"),
        _accounts_t.c.head_seq == bindparam("old_seq"),
        _accounts_t.c.balance + bindparam("delta", type_=BigInteger) >= 0,
    )
    .values(
        balance=_accounts_t.c.balance + bindparam("delta", type_=BigInteger),
        head_seq=bindparam("new_seq"),
        head_hash=bindparam("new_hash"),
    )
)
_ADVANCE_HEAD_INTO_DEBT = (
    update(_accounts_t)
    .where(_accounts_t.c.id == bindparam("account_id"), _accounts_t.c.head_seq == bindparam("old_seq"))
    .values(
        balance=_accounts_t.c.balance + bindparam("delta", type_=BigInteger),
        head_seq=bindparam("new_seq"),
        head_hash=bindparam("new_hash"),
    )
)
"""For a clawback only (``post(overdraft=True)``): the balance may go below zero."""
_INSERT_ENTRIES = insert(_entries_t)
_INSERT_LOT = insert(_lots_t)
_INSERT_MOVEMENTS = insert(_movements_t)
_OPEN_LOTS = (
    select(_lots_t.c.id, _lots_t.c.remaining)
    .where(_lots_t.c.account_id == bindparam("account_id"), _lots_t.c.remaining > 0)
    .order_by(nulls_last(_lots_t.c.expires_at.asc()), _lots_t.c.created_at, _lots_t.c.id)
)
_TAKE_FROM_LOT = (
    update(_lots_t)
    .where(_lots_t.c.id == bindparam("lot_id"), _lots_t.c.remaining >= bindparam("qty", type_=BigInteger))
    .values(remaining=_lots_t.c.remaining - bindparam("qty", type_=BigInteger))
)
_GIVE_TO_LOT = (
    update(_lots_t)
    .where(_lots_t.c.id == bindparam("lot_id"))
    .values(remaining=_lots_t.c.remaining + bindparam("qty", type_=BigInteger))
)
_DIALECT_STATEMENTS: dict[str, tuple[Any, Any]] = {}


def _upserts(session: Session) -> tuple[Any, Any]:
    """(create-account-if-missing, insert-posting-unless-key-exists) for the session's dialect."""
    name = session.get_bind().dialect.name
    found = _DIALECT_STATEMENTS.get(name)
    if found is None:
        dialect_insert = postgresql_insert if name == "postgresql" else sqlite_insert
        found = _DIALECT_STATEMENTS[name] = (
            # No conflict target: first postings racing to create one account collide on its id
            # or on its code, whichever unique index PostgreSQL happens to check first.
            dialect_insert(_accounts_t).on_conflict_do_nothing(),
            dialect_insert(_postings_t)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_postings_t.c.id),
        )
    return found


class AccountLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def code(self) -> str: ...
    @property
    def asset(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def member_id(self) -> uuid.UUID | None: ...


# --- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRef:
    """An account by its identity; the row is created by the first posting that touches it.

    Account ids are derived from their codes (UUIDv5), so finding an account needs no query."""

    code: str
    asset: str
    purpose: str
    member_id: uuid.UUID | None = None

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(ACCOUNT_NAMESPACE, self.code)


def member_account_code(asset: str, member_id: uuid.UUID, purpose: str) -> str:
    return f"{asset}:member:{member_id}:{purpose}"


def program_account_code(asset: str, purpose: str) -> str:
    return f"{asset}:program:{purpose}"


def member_account(session: Session, asset: str, member_id: uuid.UUID, purpose: str) -> AccountRef:
    return AccountRef(member_account_code(asset, member_id, purpose), asset, purpose, member_id)


def program_account(session: Session, asset: str, purpose: str) -> AccountRef:
    return AccountRef(program_account_code(asset, purpose), asset, purpose)


def member_balances(session: Session, member_id: uuid.UUID) -> dict[tuple[str, str], int]:
    """Every balance of the member's accounts, by (asset, purpose): one query for points and wallet."""
    rows = session.execute(
        select(_accounts_t.c.asset, _accounts_t.c.purpose, _accounts_t.c.balance).where(
            _accounts_t.c.member_id == member_id
        )
    )
    return {(asset, purpose): int(balance) for asset, purpose, balance in rows}


def ensure_accounts(session: Session, accounts: Sequence[AccountLike], now: datetime) -> None:
    rows = [
        {
            "id": account.id,
            "code": account.code,
            "asset": account.asset,
            "purpose": account.purpose,
            "member_id": account.member_id,
            "balance": 0,
            "head_seq": 0,
            "head_hash": GENESIS,
            "created_at": now,
        }
        for account in accounts
    ]
    session.connection().execute(_upserts(session)[0], rows)


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


def fingerprint(asset: str, reason: str, legs: Sequence[tuple[Any, int]], reverses_id: Any) -> str:
    document = {
        "asset": asset,
        "reason": reason,
        "legs": sorted([account.code, amount] for account, amount in legs),
        "reverses": str(reverses_id) if reverses_id else None,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _existing(session: Session, key: str, expected: str) -> PostingResult | None:
    row = session.connection().execute(_FIND_POSTING, {"key": key}).first()
    if row is None:
        return None
    if row.fingerprint != expected:
        raise IdempotencyKeyConflict(idempotency_key=key)
    return PostingResult(session.get_one(Posting, row.id), replayed=True)


@dataclass
class _Head:
    balance: int
    seq: int
    hash: str


def post(
    session: Session,
    signer: Signer,
    *,
    asset: str,
    reason: str,
    idempotency_key: str,
    actor: Actor,
    legs: Sequence[tuple[AccountLike, int]],
    occurred_at: datetime | None = None,
    memo: str = "",
    meta: dict[str, Any] | None = None,
    reverses_id: uuid.UUID | None = None,
    lots: LotRules | None = None,
    station: str | None = None,
    overdraft: bool = False,
) -> PostingResult:
    """Post balanced ``legs``. With ``overdraft`` (clawbacks of refunded sales only) member
    balances may go below zero: what the lots cannot cover becomes a debt that the account's next
    credits pay off before they open spendable lots, and nothing can be spent while it lasts (every
    ordinary debit still needs ``balance + amount >= 0``)."""
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

    now = utcnow()
    accounts = {account.id: account for account, _ in legs}
    ensure_accounts(session, list(accounts.values()), now)
    member_ids = sorted(
        account_id for account_id, account in accounts.items() if account.member_id is not None
    )
    connection = session.connection()
    heads = {
        row.id: _Head(row.balance, row.head_seq, row.head_hash)
        for row in connection.execute(_LOCK_HEADS, {"ids": member_ids})
    }
    net: dict[uuid.UUID, int] = {}
    for account, amount in legs:
        net[account.id] = net.get(account.id, 0) + amount
    debts = {account_id: max(0, -head.balance) for account_id, head in heads.items()}
    for account_id, head in heads.items():
        if head.balance + net[account_id] < 0 and not overdraft:
            raise InsufficientBalance(
                account=accounts[account_id].purpose, balance=head.balance, needed=-net[account_id]
            )

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
    values = {
        "id": posting_id,
        "asset": asset,
        "idempotency_key": idempotency_key,
        "reason": reason,
        "actor": f"{actor.kind}:{actor.label}"[:140],
        "occurred_at": moment,
        "recorded_at": now,
        "reverses_id": reverses_id,
        "memo": memo[:200],
        "station_code": station,
        "meta": meta or {},
        "fingerprint": expected,
        "content_hash": content_hash,
        "signature": signer.sign(content_hash),
        "key_id": signer.key_id,
    }
    inserted = connection.execute(_upserts(session)[1], values).scalar()
    if inserted is None:  # the same key committed by a concurrent request since we looked
        replay = _existing(session, idempotency_key, expected)
        if replay is None:
            raise IdempotencyKeyConflict(idempotency_key=idempotency_key)
        return replay

    entries: list[dict[str, Any]] = []
    for account, amount in legs:
        entry: dict[str, Any] = {
            "id": new_id(),
            "posting_id": posting_id,
            "account_id": account.id,
            "amount": amount,
            "seq": None,
            "prev_hash": None,
            "hash": None,
        }
        if account.id in heads:
            _chain(session, account, heads[account.id], entry, content_hash, overdraft=overdraft)
        entries.append(entry)
    connection.execute(_INSERT_ENTRIES, entries)
    for account, amount in legs:
        if account.id in heads and account.purpose in LOT_PURPOSES:
            _move_lots(
                session, account, posting_id, amount, lots, now, debt=debts[account.id], overdraft=overdraft
            )
    return PostingResult(Posting(**values), replayed=False)


def _chain(
    session: Session,
    account: AccountLike,
    head: _Head,
    entry: dict[str, Any],
    content_hash: str,
    *,
    overdraft: bool = False,
) -> None:
    """Append the entry to the account's chain with a conditional update of balance and head."""
    seq = head.seq + 1
    amount = entry["amount"]
    digest = entry_hash(head.hash, seq, account.code, amount, content_hash)
    result = session.connection().execute(
        _ADVANCE_HEAD_INTO_DEBT if overdraft else _ADVANCE_HEAD,
        {"account_id": account.id, "old_seq": head.seq, "delta": amount, "new_seq": seq, "new_hash": digest},
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InsufficientBalance(account=account.purpose)
    entry.update(seq=seq, prev_hash=head.hash, hash=digest)
    head.balance, head.seq, head.hash = head.balance + amount, seq, digest


def _move_lots(
    session: Session,
    account: AccountLike,
    posting_id: uuid.UUID,
    amount: int,
    rules: LotRules,
    now: datetime,
    *,
    debt: int = 0,
    overdraft: bool = False,
) -> None:
    """Lots follow the balance: a credit opens a lot (less any debt it pays off first), a debit
    takes from the earliest-expiring lots; with ``overdraft`` what they cannot cover is debt."""
    connection = session.connection()
    movements: list[dict[str, Any]] = []
    if amount > 0:
        restore = rules.restore.get(account.id)
        if debt:
            restore = None  # a credit into debt pays the debt first; only the rest is spendable
        if restore:
            for lot_id, give in restore.items():
                connection.execute(_GIVE_TO_LOT, {"lot_id": lot_id, "qty": give})
                movements.append({"id": new_id(), "lot_id": lot_id, "posting_id": posting_id, "amount": give})
        else:
            lot_id = new_id()
            connection.execute(
                _INSERT_LOT,
                {
                    "id": lot_id,
                    "account_id": account.id,
                    "posting_id": posting_id,
                    "amount": amount,
                    "remaining": amount,
                    "expires_at": rules.expires_at,
                    "created_at": now,
                },
            )
            movements.append({"id": new_id(), "lot_id": lot_id, "posting_id": posting_id, "amount": amount})
            paid_off = min(debt, amount)
            if paid_off:
                connection.execute(_TAKE_FROM_LOT, {"lot_id": lot_id, "qty": paid_off})
                movements.append(
                    {"id": new_id(), "lot_id": lot_id, "posting_id": posting_id, "amount": -paid_off}
                )
    else:
        still = -amount
        for lot_id, remaining in _lots_to_take(session, account.id, rules.prefer):
            if still == 0:
                break
            take = min(remaining, still)
            done = connection.execute(_TAKE_FROM_LOT, {"lot_id": lot_id, "qty": take})
            if getattr(done, "rowcount", 0) != 1:
                raise InsufficientBalance(account=account.purpose)
            movements.append({"id": new_id(), "lot_id": lot_id, "posting_id": posting_id, "amount": -take})
            still -= take
        if still and not overdraft:
            raise InsufficientBalance(account=account.purpose, missing_in_lots=still)
    if movements:
        connection.execute(_INSERT_MOVEMENTS, movements)


def _lots_to_take(
    session: Session, account_id: uuid.UUID, prefer: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, int]]:
    open_lots = [
        (row.id, row.remaining)
        for row in session.connection().execute(_OPEN_LOTS, {"account_id": account_id})
    ]
    preferred = set(prefer)
    return [lot for lot in open_lots if lot[0] in preferred] + [
        lot for lot in open_lots if lot[0] not in preferred
    ]


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


@dataclass(frozen=True)
class DueLot:
    lot_id: uuid.UUID
    account: AccountLike
    remaining: int
    occurred_at: datetime


def drain_lots(
    session: Session,
    signer: Signer,
    actor: Actor,
    lots: Sequence[DueLot],
    *,
    sink: AccountLike,
    reason: str,
    key_prefix: str,
) -> int:
    """Empty many lots into ``sink`` at once, one posting per lot (key ``<prefix>:<lot>:<moves>``), exactly as
    ``post`` would record them, in a fixed number of statements (the expiry job's path through a
    million lots). Lots already drained under their key are skipped. Returns the points moved."""
    if not lots:
        return 0
    connection = session.connection()
    now = utcnow()
    # A lot can be drained again after a reversal gave points back to it: the key names the lot and
    # how many movements it has had, so a re-run finds the same key and a later drain a new one.
    movement_counts: dict[uuid.UUID, int] = dict(
        connection.execute(
            select(_movements_t.c.lot_id, func.count())
            .where(_movements_t.c.lot_id.in_([lot.lot_id for lot in lots]))
            .group_by(_movements_t.c.lot_id)
        ).all()
    )
    keys = {f"{key_prefix}:{lot.lot_id}:{movement_counts.get(lot.lot_id, 0)}": lot for lot in lots}
    done = set(
        connection.execute(
            select(_postings_t.c.idempotency_key).where(_postings_t.c.idempotency_key.in_(list(keys)))
        ).scalars()
    )
    todo = [(key, lot) for key, lot in keys.items() if key not in done]
    if not todo:
        return 0
    ensure_accounts(session, [sink], now)
    account_ids = sorted({lot.account.id for _, lot in todo})
    heads = {
        row.id: _Head(row.balance, row.head_seq, row.head_hash)
        for row in connection.execute(_LOCK_HEADS, {"ids": account_ids})
    }
    start = {account_id: (head.seq, head.balance) for account_id, head in heads.items()}
    remaining = dict(
        connection.execute(
            select(_lots_t.c.id, _lots_t.c.remaining).where(_lots_t.c.id.in_([lot.lot_id for _, lot in todo]))
        ).all()
    )
    postings: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    drained: list[dict[str, Any]] = []
    moved = 0
    for key, lot in todo:
        amount = int(remaining.get(lot.lot_id, 0))
        head = heads[lot.account.id]
        if amount <= 0 or head.balance < amount:
            continue
        legs = [(lot.account, -amount), (sink, amount)]
        posting_id = new_id()
        content_hash = sha256_hex(
            canonical_content(
                posting_id=str(posting_id),
                asset=lot.account.asset,
                idempotency_key=key,
                reason=reason,
                occurred_at=lot.occurred_at,
                reverses_id=None,
                legs=[(account.code, leg) for account, leg in legs],
            )
        )
        postings.append(
            {
                "id": posting_id,
                "asset": lot.account.asset,
                "idempotency_key": key,
                "reason": reason,
                "actor": f"{actor.kind}:{actor.label}"[:140],
                "occurred_at": lot.occurred_at,
                "recorded_at": now,
                "reverses_id": None,
                "memo": "",
                "station_code": None,
                "meta": {},
                "fingerprint": fingerprint(lot.account.asset, reason, legs, None),
                "content_hash": content_hash,
                "signature": signer.sign(content_hash),
                "key_id": signer.key_id,
            }
        )
        seq = head.seq + 1
        digest = entry_hash(head.hash, seq, lot.account.code, -amount, content_hash)
        entries.append(
            {
                "id": new_id(),
                "posting_id": posting_id,
                "account_id": lot.account.id,
                "amount": -amount,
                "seq": seq,
                "prev_hash": head.hash,
                "hash": digest,
            }
        )
        entries.append(
            {
                "id": new_id(),
                "posting_id": posting_id,
                "account_id": sink.id,
                "amount": amount,
                "seq": None,
                "prev_hash": None,
                "hash": None,
            }
        )
        head.balance, head.seq, head.hash = head.balance - amount, seq, digest
        movements.append({"id": new_id(), "lot_id": lot.lot_id, "posting_id": posting_id, "amount": -amount})
        drained.append({"lot_id": lot.lot_id, "qty": amount})
        moved += amount
    if not postings:
        return 0
    connection.execute(_postings_t.insert(), postings)
    connection.execute(_INSERT_ENTRIES, entries)
    connection.execute(_INSERT_MOVEMENTS, movements)
    _execute_all(connection, _TAKE_FROM_LOT, drained, "lot")
    advances = [
        {
            "account_id": account_id,
            "old_seq": start[account_id][0],
            "delta": head.balance - start[account_id][1],
            "new_seq": head.seq,
            "new_hash": head.hash,
        }
        for account_id, head in heads.items()
        if head.seq != start[account_id][0]
    ]
    _execute_all(connection, _ADVANCE_HEAD, advances, "available")
    return moved


def _execute_all(connection: Any, statement: Any, rows: list[dict[str, Any]], what: str) -> None:
    """Run a conditional UPDATE for many rows in one batch; every row must match exactly once."""
    if not rows:
        return
    if connection.dialect.supports_sane_multi_rowcount:
        if getattr(connection.execute(statement, rows), "rowcount", 0) != len(rows):
            raise InsufficientBalance(account=what)
        return
    for row in rows:
        if getattr(connection.execute(statement, row), "rowcount", 0) != 1:
            raise InsufficientBalance(account=what)
