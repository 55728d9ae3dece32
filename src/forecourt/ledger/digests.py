"""Periodic digests of all chain heads (``ledger-digest`` job), and their verification.

Heads are read as of the digest's moment (the last entry of each member account recorded by then),
so a digest can be re-checked later while the accounts keep moving.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.kit.ids import new_id
from forecourt.ledger.chain import Signer, sha256_hex, verify_signature
from forecourt.ledger.models import GENESIS, Digest, Entry, LedgerAccount, Posting


def heads_as_of(session: Session, moment: datetime) -> tuple[int, str]:
    """(number of member accounts with entries by ``moment``, hash over their heads in code order)."""
    last = (
        select(Entry.account_id, func.max(Entry.seq).label("seq"))
        .join(Posting, Posting.id == Entry.posting_id)
        .where(Entry.seq.is_not(None), Posting.recorded_at <= moment)
        .group_by(Entry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(LedgerAccount.code, Entry.seq, Entry.hash)
        .join(last, last.c.account_id == LedgerAccount.id)
        .join(Entry, (Entry.account_id == last.c.account_id) & (Entry.seq == last.c.seq))
        .order_by(LedgerAccount.code)
        .execution_options(yield_per=10_000)
    )
    digest = hashlib.sha256()
    count = 0
    for code, seq, head in rows:
        digest.update(f"{code}:{seq}:{head}\n".encode())
        count += 1
    return count, digest.hexdigest()


def _digest_hash(prev_hash: str, taken_at: datetime, accounts: int, heads_hash: str) -> str:
    return sha256_hex(f"{prev_hash}|{taken_at.astimezone(UTC).isoformat()}|{accounts}|{heads_hash}".encode())


def take_digest(session: Session, signer: Signer, moment: datetime) -> Digest:
    """A digest as of ``moment``; a moment not after the latest digest returns that one (idempotent)."""
    previous = session.scalar(select(Digest).order_by(Digest.taken_at.desc(), Digest.id.desc()).limit(1))
    if previous is not None and moment <= previous.taken_at:
        return previous
    accounts, heads_hash = heads_as_of(session, moment)
    prev_hash = previous.digest_hash if previous else GENESIS
    digest_hash = _digest_hash(prev_hash, moment, accounts, heads_hash)
    digest = Digest(
        id=new_id(),
        taken_at=moment,
        accounts=accounts,
        heads_hash=heads_hash,
        prev_hash=prev_hash,
        digest_hash=digest_hash,
        signature=signer.sign(digest_hash),
        key_id=signer.key_id,
    )
    session.add(digest)
    session.flush()
    return digest


def verify_digests(session: Session, keys: dict[str, Ed25519PublicKey]) -> list[str]:
    """Problems with the digest chain; every digest's heads are recomputed from the entries."""
    problems: list[str] = []
    previous = GENESIS
    for digest in session.scalars(select(Digest).order_by(Digest.taken_at, Digest.id)):
        key = keys.get(digest.key_id)
        if digest.prev_hash != previous:
            problems.append(f"digest {digest.id}: does not follow the digest before it")
        elif (
            _digest_hash(digest.prev_hash, digest.taken_at, digest.accounts, digest.heads_hash)
            != digest.digest_hash
        ):
            problems.append(f"digest {digest.id}: content does not match its hash")
        elif key is None or not verify_signature(key, digest.digest_hash, digest.signature):
            problems.append(f"digest {digest.id}: signature invalid")
        elif heads_as_of(session, digest.taken_at) != (digest.accounts, digest.heads_hash):
            problems.append(
                f"digest {digest.id}: chain heads at {digest.taken_at.isoformat()} differ from the digest"
            )
        previous = digest.digest_hash
    return problems
