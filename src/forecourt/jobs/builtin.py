"""Housekeeping jobs of the platform itself."""

from __future__ import annotations

from typing import Any

from forecourt.auth import service as auth
from forecourt.db.outbox import dispatch_due
from forecourt.devices import service as devices
from forecourt.jobs.registry import JobContext, job


@job("purge-device-nonces", "Forget POS request nonces too old to be replayed")
def purge_device_nonces(ctx: JobContext) -> dict[str, Any]:
    skew = ctx.settings.device_clock_skew_seconds
    return {"deleted": ctx.database.run(lambda s: devices.purge_nonces(s, ctx.at, skew))}


@job("purge-staff-tokens", "Delete staff tokens that expired more than a day ago")
def purge_staff_tokens(ctx: JobContext) -> dict[str, Any]:
    return {"deleted": ctx.database.run(lambda s: auth.purge_expired_tokens(s, ctx.at))}


@job(
    "dispatch-outbox", "Deliver due outbox events to their handlers (the API process does this continuously)"
)
def dispatch_outbox(ctx: JobContext) -> dict[str, Any]:
    report = dispatch_due(ctx.database, now=ctx.at, max_attempts=ctx.settings.outbox_max_attempts)
    return {"delivered": report.delivered, "retried": report.retried, "failed": report.failed}
