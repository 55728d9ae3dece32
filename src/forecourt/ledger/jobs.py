"""Scheduled work of the ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forecourt.jobs.registry import JobContext, job
from forecourt.kit.actor import SYSTEM
from forecourt.ledger import digests, points
from forecourt.ledger.chain import signer_for
from forecourt.tiers import service as tiers

EXPIRY_BATCH = 1000


@job("expire-points", "Expire the points of every lot due at --at (idempotent, resumable, in batches)")
def expire_points(ctx: JobContext) -> dict[str, Any]:
    signer = signer_for(ctx.settings.ledger_signing_key)
    lots = expired = 0
    while True:

        def batch(session: Session) -> points.ExpiryReport:
            return points.expire_due(
                session,
                signer,
                SYSTEM,
                ctx.at,
                limit=EXPIRY_BATCH,
                spare_members=tiers.never_expiring_members(),
            )

        report = ctx.database.run(batch)
        lots += report.lots
        expired += report.points
        if report.lots < EXPIRY_BATCH:
            return {"lots": lots, "points": expired}


@job("ledger-digest", "Sign a digest of every member account's chain head as of --at")
def ledger_digest(ctx: JobContext) -> dict[str, Any]:
    signer = signer_for(ctx.settings.ledger_signing_key)

    def take(session: Session) -> dict[str, Any]:
        digest = digests.take_digest(session, signer, ctx.at)
        return {"accounts": digest.accounts, "digest": digest.digest_hash}

    return ctx.database.run(take)
