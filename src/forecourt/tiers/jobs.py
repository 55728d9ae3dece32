"""The monthly tier evaluation.

It runs as of the start of ``--at``'s month in the chain's time zone, whenever in the month it is
started: the window is whole local months (a sale at 23:30 Beijing time on the 31st counts for that
month), grace periods end exactly on a month boundary, and a rerun in the same month changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from forecourt.jobs.registry import JobContext, job
from forecourt.kit.actor import SYSTEM
from forecourt.tiers import service
from forecourt.tiers.windows import month_start

BATCH = 500


@job(
    "evaluate-tiers",
    "Monthly tier evaluation as of the start of --at's month (Beijing time): grace periods, one-level "
    "downgrades, manual expiries",
)
def evaluate_tiers(ctx: JobContext) -> dict[str, Any]:
    at = month_start(ctx.at)
    counts: dict[str, int] = {}
    after: uuid.UUID | None = None
    while True:

        def batch(session: Session, after: uuid.UUID | None = after) -> uuid.UUID | None:
            members = service.members_to_evaluate(session, after, BATCH)
            for evaluation in service.evaluate_batch(session, SYSTEM, members, at).values():
                counts[evaluation.outcome] = counts.get(evaluation.outcome, 0) + 1
            return members[-1] if len(members) == BATCH else None

        snapshot = dict(counts)
        try:
            after = ctx.database.run(batch)
        except BaseException:
            counts.clear()
            counts.update(snapshot)
            raise
        if after is None:
            return counts
