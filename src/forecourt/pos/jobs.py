"""Jobs of the POS context."""

from __future__ import annotations

from typing import Any

from forecourt.db import idempotency
from forecourt.jobs.registry import JobContext, job
from forecourt.pos import prepay


@job("expire-authorizations", "Close prepay authorizations left open for 30 minutes")
def expire_authorizations(ctx: JobContext) -> dict[str, Any]:
    return {"expired": ctx.database.run(lambda s: prepay.expire_open(s, ctx.at))}


@job("purge-idempotency-keys", "Forget idempotency keys answered more than 7 days ago")
def purge_idempotency_keys(ctx: JobContext) -> dict[str, Any]:
    return {"deleted": ctx.database.run(lambda s: idempotency.purge(s, ctx.at))}
