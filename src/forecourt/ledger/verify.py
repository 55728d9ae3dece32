"""``forecourt ledger verify``: recompute everything the ledger claims about itself.

Checks, in one streaming pass per table: every posting's content hash (from its own fields and its
entries) and signature; every posting sums to zero; every member account's chain (sequence without
gaps, each hash from the previous); every cached balance equals the sum of the account's entries
and its chain head equals the last entry. The first failure names the posting (or account).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.ledger.chain import Signer, canonical_content, entry_hash, sha256_hex, verify_signature
from forecourt.ledger.digests import verify_digests
from forecourt.ledger.models import GENESIS, Entry, LedgerAccount, Posting

BATCH = 5000


@dataclass
class VerifyReport:
    postings: int = 0
    entries: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def public_keys(signer: Signer, retired: str) -> dict[str, Ed25519PublicKey]:
    keys = {signer.key_id: signer.public_key()}
    for item in filter(None, (part.strip() for part in retired.split(","))):
        key_id, _, encoded = item.partition(":")
        keys[key_id] = Ed25519PublicKey.from_public_bytes(
            base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        )
    return keys


def verify(
    session: Session, keys: dict[str, Ed25519PublicKey], *, stop_at_first: bool = True
) -> VerifyReport:
    report = VerifyReport()
    accounts = {account.id: account for account in session.scalars(select(LedgerAccount))}
    codes = {account_id: account.code for account_id, account in accounts.items()}
    report.accounts = len(accounts)

    def problem(message: str) -> bool:
        report.problems.append(message)
        return stop_at_first

    # Postings: content, signature, balance — one ordered stream of postings with their entries.
    rows = session.execute(
        select(
            Posting.id,
            Posting.asset,
            Posting.idempotency_key,
            Posting.reason,
            Posting.occurred_at,
            Posting.reverses_id,
            Posting.content_hash,
            Posting.signature,
            Posting.key_id,
            Entry.account_id,
            Entry.amount,
        )
        .outerjoin(Entry, Entry.posting_id == Posting.id)
        .order_by(Posting.id, Entry.id)
        .execution_options(yield_per=10_000)
    )
    pending: Any = None
    legs: list[tuple[str, int]] = []

    def check(posting: Any) -> bool:
        report.postings += 1
        report.entries += len(legs)
        content = canonical_content(
            posting_id=str(posting.id),
            asset=posting.asset,
            idempotency_key=posting.idempotency_key,
            reason=posting.reason,
            occurred_at=posting.occurred_at,
            reverses_id=str(posting.reverses_id) if posting.reverses_id else None,
            legs=legs,
        )
        if sha256_hex(content) != posting.content_hash:
            return problem(
                f"posting {posting.id}: content does not match its hash (edited, or entries changed)"
            )
        if sum(amount for _, amount in legs) != 0:
            return problem(f"posting {posting.id}: entries do not sum to zero")
        key = keys.get(posting.key_id)
        if key is None or not verify_signature(key, posting.content_hash, posting.signature):
            return problem(f"posting {posting.id}: signature invalid")
        return False

    for row in rows:
        if pending is not None and row.id != pending.id:
            if check(pending):
                return report
            legs = []
        pending = row
        if row.account_id is not None:
            legs.append((codes.get(row.account_id, f"?{row.account_id}"), row.amount))
    if pending is not None and check(pending):
        return report

    # Chains and cached balances of member accounts, in one ordered stream of their entries.
    member_accounts = {account_id: a for account_id, a in accounts.items() if a.member_id is not None}
    seen: set[uuid.UUID] = set()
    stream = session.execute(
        select(
            Entry.account_id,
            Entry.posting_id,
            Entry.amount,
            Entry.seq,
            Entry.prev_hash,
            Entry.hash,
            Posting.content_hash,
        )
        .join(Posting, Posting.id == Entry.posting_id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(LedgerAccount.member_id.is_not(None))
        .order_by(Entry.account_id, Entry.seq)
        .execution_options(yield_per=10_000)
    )
    current: uuid.UUID | None = None
    previous, expected_seq, total, broken = GENESIS, 1, 0, False

    def close(account_id: uuid.UUID) -> bool:
        account = member_accounts[account_id]
        seen.add(account_id)
        if broken:
            return False
        if account.head_seq != expected_seq - 1 or account.head_hash != previous:
            return problem(f"account {account.code}: chain head does not match its last entry")
        if account.balance != total:
            return problem(f"account {account.code}: cached balance {account.balance} ≠ entries {total}")
        return False

    for account_id, posting_id, amount, seq, prev_hash, digest, content_hash in stream:
        if account_id != current:
            if current is not None and close(current):
                return report
            current, previous, expected_seq, total, broken = account_id, GENESIS, 1, 0, False
        if broken:
            continue
        code = member_accounts[account_id].code
        if seq != expected_seq or prev_hash != previous:
            broken = True
            if problem(
                f"posting {posting_id}: chain of {code} broken at {expected_seq} (row missing or moved)"
            ):
                return report
            continue
        if entry_hash(previous, seq, code, amount, content_hash) != digest:
            broken = True
            if problem(f"posting {posting_id}: chain hash of {code} does not match (entry edited)"):
                return report
            continue
        previous, expected_seq, total = digest, expected_seq + 1, total + amount
    if current is not None and close(current):
        return report
    for account_id, account in member_accounts.items():
        orphan = account_id not in seen and (account.balance != 0 or account.head_seq != 0)
        if orphan and problem(f"account {account.code}: has a balance or chain head but no entries"):
            return report
    report.problems.extend(verify_digests(session, keys))
    return report
