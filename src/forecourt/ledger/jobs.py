"""Scheduled work of the ledger."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from forecourt.db.outbox import publish
from forecourt.jobs.registry import JobContext, job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, chain_zone
from forecourt.ledger import digests, liability, points
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
                spared=tiers.never_expiring,
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


@job("snapshot-liability", "Record the points liability of the business day before --at (idempotent)")
def snapshot_liability(ctx: JobContext) -> dict[str, Any]:
    day = chain_date(ctx.at) - timedelta(days=1)

    def take(session: Session) -> dict[str, Any]:
        snapshot = liability.take_snapshot(session, day, ctx.settings.point_unit_cost_millifen)
        return {
            "day": str(day),
            "outstanding": snapshot.outstanding,
            "pending": snapshot.pending,
            "liability_fen": snapshot.liability_fen,
        }

    return ctx.database.run(take)


@job("reconcile-ledger", "Month-end check: re-add all entries against cached balances and flag differences")
def reconcile_ledger(ctx: JobContext) -> dict[str, Any]:
    def check(session: Session) -> dict[str, Any]:
        record = liability.reconcile(session, ctx.at)
        if not record.ok:
            publish(
                session,
                "ledger.reconciliation_failed",
                {"reconciliation_id": str(record.id), "differences": record.differences},
            )
        return {"ok": record.ok, "accounts": record.accounts_checked, "differences": record.differences}

    return ctx.database.run(check)


REMINDER_DAYS = (30, 15, 3)


@job(
    "remind-expiring-points",
    "Events for members whose points expire in 30, 15 and 3 days (once each; not for points a tier spares)",
)
def remind_expiring_points(ctx: JobContext) -> dict[str, Any]:
    sent: dict[str, int] = {}

    def remind(session: Session) -> None:
        today = chain_date(ctx.at)
        for days in REMINDER_DAYS:
            day = today + timedelta(days=days)
            start = datetime.combine(day, time(0), tzinfo=chain_zone())
            count = 0
            for member_id, amount, earliest in liability.member_ids_with_expiring(
                session, start, start + timedelta(days=1), spared=tiers.never_expiring
            ):
                publish(
                    session,
                    "points.expiring",
                    {
                        "member_id": str(member_id),
                        "days": days,
                        "points": amount,
                        "expires_at": earliest.isoformat(),
                    },
                    dedupe_key=f"points.expiring:{member_id}:{day.isoformat()}:{days}",
                )
                count += 1
            sent[f"{days}d"] = count

    ctx.database.run(remind)
    return sent
