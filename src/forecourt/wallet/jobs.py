"""Scheduled work of the wallet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forecourt.jobs.registry import JobContext, job
from forecourt.kit.actor import SYSTEM
from forecourt.ledger.chain import signer_for
from forecourt.wallet import fuel_credit

EXPIRY_BATCH = 1000


@job("expire-fuel-credit", "Move fuel credit (加油金) lots due at --at to fuel_credit_expiry (idempotent)")
def expire_fuel_credit(ctx: JobContext) -> dict[str, Any]:
    signer = signer_for(ctx.settings.ledger_signing_key)
    lots = fen = 0
    while True:

        def batch(session: Session) -> fuel_credit.ExpiryReport:
            return fuel_credit.expire_due(session, signer, SYSTEM, ctx.at, limit=EXPIRY_BATCH)

        report = ctx.database.run(batch)
        lots += report.lots
        fen += report.fen
        if report.lots < EXPIRY_BATCH:
            return {"lots": lots, "fen": fen}
