"""Ledger figures: postings per second (one writer and four), ``ledger verify`` entries per second,
and the expiry and tier jobs over a large member base (SPEC §6: ≤ 10 minutes each for 1,000,000).

``FORECOURT_BENCH_LEDGER_MEMBERS`` sizes the member base of the jobs benchmark (default 1,000,000).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bench.bench_members import _load_members
from bench.harness import Figure, benchmark
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import keyring_for
from forecourt.kit.ids import new_id
from forecourt.ledger import points, verify
from forecourt.ledger.chain import canonical_content, entry_hash, sha256_hex, signer_for
from forecourt.ledger.engine import (
    AccountRef,
    ensure_accounts,
    fingerprint,
    member_account_code,
    program_account,
    program_account_code,
)
from forecourt.ledger.models import GENESIS, Entry, LedgerAccount, Lot, LotMovement, Posting
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.tiers.models import MemberTier, TierActivity

JOB_MEMBERS = int(os.environ.get("FORECOURT_BENCH_LEDGER_MEMBERS", "1000000"))
POSTING_MEMBERS = 2_000
POSTINGS = 10_000
BATCH = 5_000


def _member_ids(database: Database) -> list[uuid.UUID]:
    with database.transaction(write=False) as session:
        return list(session.scalars(Member.__table__.select().with_only_columns(Member.id)))


@benchmark("ledger postings")
def ledger_postings(database: Database, settings: Settings) -> list[Figure]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    _load_members(database, pii, 0, POSTING_MEMBERS)
    members = _member_ids(database)
    signer = signer_for(settings.ledger_signing_key)
    now = utcnow()

    def earn(session: Session, n: int) -> None:
        points.earn(
            session,
            signer,
            SYSTEM,
            members[n % len(members)],
            10 + n % 50,
            reason="bench",
            idempotency_key=f"bench:{n}",
            occurred_at=now,
            expires_at=now + timedelta(days=700),
        )

    started = time.perf_counter()
    for n in range(POSTINGS):
        database.run(lambda session, n=n: earn(session, n))
    single = POSTINGS / (time.perf_counter() - started)

    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for n in range(offset, POSTINGS, 4):
                database.run(lambda session, n=n: earn(session, POSTINGS + n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = POSTINGS / (time.perf_counter() - started)
    if errors:
        raise errors[0]

    with database.transaction(write=False) as session:
        started = time.perf_counter()
        report = verify.verify(session, verify.public_keys(signer, ""))
        seconds = time.perf_counter() - started
    assert report.intact, report.problems[:3]
    return [
        Figure(
            "postings/s, 1 writer", single, "postings/s", "earn: 2 entries, a lot, a chain link, a signature"
        ),
        Figure("postings/s, 4 writers", concurrent, "postings/s"),
        Figure(
            "verify", report.entries / seconds, "entries/s", f"{report.entries:,} entries in {seconds:.1f} s"
        ),
    ]


def member_account_ref(asset: str, member_id: uuid.UUID, purpose: str) -> AccountRef:
    return AccountRef(member_account_code(asset, member_id, purpose), asset, purpose, member_id)


def _bulk_ledger(database: Database, settings: Settings, members: list[uuid.UUID]) -> None:
    """One earned, already-due lot per member, written in bulk exactly as ``engine.post`` would have
    (hashes, chain links, signatures), so the jobs and ``verify`` see a genuine ledger."""
    signer = signer_for(settings.ledger_signing_key)
    earned_at = utcnow() - timedelta(days=800)
    with database.transaction() as session:
        issuance = program_account(session, points.ASSET, "issuance")
        ensure_accounts(session, [issuance], earned_at)
    issuance_code = program_account_code(points.ASSET, "issuance")
    for start in range(0, len(members), BATCH):
        accounts: list[dict[str, Any]] = []
        postings: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        lots: list[dict[str, Any]] = []
        movements: list[dict[str, Any]] = []
        tiers: list[dict[str, Any]] = []
        activity: list[dict[str, Any]] = []
        for n, member_id in enumerate(members[start : start + BATCH], start=start):
            amount = 100 + n % 400
            account = member_account_ref(points.ASSET, member_id, "available")
            code, account_id = account.code, account.id
            posting_id, lot_id = new_id(), new_id()
            key = f"bulk:{n}"
            legs = [(issuance_code, -amount), (code, amount)]
            content_hash = sha256_hex(
                canonical_content(
                    posting_id=str(posting_id),
                    asset=points.ASSET,
                    idempotency_key=key,
                    reason="bench",
                    occurred_at=earned_at,
                    reverses_id=None,
                    legs=legs,
                )
            )
            head = entry_hash(GENESIS, 1, code, amount, content_hash)
            accounts.append(
                {
                    "id": account_id,
                    "code": code,
                    "asset": points.ASSET,
                    "purpose": "available",
                    "member_id": member_id,
                    "balance": amount,
                    "head_seq": 1,
                    "head_hash": head,
                    "created_at": earned_at,
                }
            )
            shapes = [(SimpleNamespace(code=c), a) for c, a in legs]
            postings.append(
                {
                    "id": posting_id,
                    "asset": points.ASSET,
                    "idempotency_key": key,
                    "reason": "bench",
                    "actor": "system:bench",
                    "occurred_at": earned_at,
                    "recorded_at": earned_at,
                    "memo": "",
                    "meta": {},
                    "fingerprint": fingerprint(points.ASSET, "bench", shapes, None),  # type: ignore[arg-type]
                    "content_hash": content_hash,
                    "signature": signer.sign(content_hash),
                    "key_id": signer.key_id,
                }
            )
            entries.append(
                {"id": new_id(), "posting_id": posting_id, "account_id": issuance.id, "amount": -amount}
            )
            entries.append(
                {
                    "id": new_id(),
                    "posting_id": posting_id,
                    "account_id": account_id,
                    "amount": amount,
                    "seq": 1,
                    "prev_hash": GENESIS,
                    "hash": head,
                }
            )
            lots.append(
                {
                    "id": lot_id,
                    "account_id": account_id,
                    "posting_id": posting_id,
                    "amount": amount,
                    "remaining": amount,
                    "expires_at": earned_at + timedelta(days=730),
                    "created_at": earned_at,
                }
            )
            movements.append({"id": new_id(), "lot_id": lot_id, "posting_id": posting_id, "amount": amount})
            if n % 2 == 0:  # half the members hold silver with too little activity: the evaluation acts
                tiers.append(
                    {
                        "member_id": member_id,
                        "tier_code": "silver",
                        "since": earned_at,
                        "updated_at": earned_at,
                    }
                )
                activity.append(
                    {
                        "id": new_id(),
                        "member_id": member_id,
                        "source_key": f"bulk:{n}",
                        "occurred_at": utcnow(),
                        "money_paid_fen": 50_000 + n % 100_000,
                        "liters_centi": 0,
                        "visits": 1,
                        "points_earned": 0,
                    }
                )

        def write(
            session: Session,
            rows: tuple[list[dict[str, Any]], ...] = (
                accounts,
                postings,
                entries,
                lots,
                movements,
                tiers,
                activity,
            ),
        ) -> None:
            for model, batch in zip(
                (LedgerAccount, Posting, Entry, Lot, LotMovement, MemberTier, TierActivity), rows, strict=True
            ):
                if batch:
                    session.execute(insert(model), batch)

        database.run(write)


@benchmark("ledger jobs")
def ledger_jobs(database: Database, settings: Settings) -> list[Figure]:
    pii = Pii(keyring_for(settings.encryption_keys), settings.secret_key)
    started = time.perf_counter()
    _load_members(database, pii, 0, JOB_MEMBERS)
    _bulk_ledger(database, settings, _member_ids(database))
    load = time.perf_counter() - started
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    figures = [
        Figure("members", JOB_MEMBERS, "members", f"one due lot each, half silver; loaded in {load:.0f} s")
    ]
    started = time.perf_counter()
    expired = run_job(database, settings, "expire-points", utcnow())
    seconds = time.perf_counter() - started
    figures.append(Figure("expire-points", seconds, "s", f"{expired['lots']:,} lots expired; target ≤ 600 s"))
    started = time.perf_counter()
    evaluated = run_job(database, settings, "evaluate-tiers", utcnow())
    seconds = time.perf_counter() - started
    figures.append(Figure("evaluate-tiers", seconds, "s", f"{evaluated}; target ≤ 600 s"))
    return figures
