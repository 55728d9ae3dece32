"""Jobs of the coupons context."""

from __future__ import annotations

import calendar as month_calendar
from datetime import timedelta
from typing import Any

from forecourt.coupons import issuance
from forecourt.jobs.registry import JobContext, job
from forecourt.kit.clock import chain_date
from forecourt.members import service as members

BIRTHDAY_LEAD = timedelta(days=3)
"""The birthday coupon arrives 3 days before the birthday (SPEC §5)."""
BATCH = 500


@job("birthday-coupons", "Give the birthday coupon to members whose birthday is 3 days away")
def birthday_coupons(ctx: JobContext) -> dict[str, Any]:
    """Idempotent per member and year: a rerun (or a run for the next day) gives nobody a second."""
    birthday = chain_date(ctx.at) + BIRTHDAY_LEAD
    days = [birthday.day]
    if birthday.month == 2 and birthday.day == 28 and not month_calendar.isleap(birthday.year):
        days.append(29)  # born on 29 February: celebrated on the 28th in a common year
    member_ids = ctx.database.run(
        lambda s: members.ids_with_birthday_on(s, birthday.month, days), write=False
    )
    issued = 0
    for start in range(0, len(member_ids), BATCH):
        chunk = member_ids[start : start + BATCH]
        issued += ctx.database.run(
            lambda s, chunk=chunk: issuance.issue_birthday_coupons(s, chunk, birthday.year, ctx.at)  # type: ignore[misc]
        )
    return {"birthday": birthday.isoformat(), "members": len(member_ids), "issued": issued}
