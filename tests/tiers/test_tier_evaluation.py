"""The monthly ``evaluate-tiers`` job on real data: whole months in Beijing time (a sale at 23:30 on
the last day of a month belongs to that month), a three-month grace period ending on a local month
boundary, one level down at a time, and the upgrade, at-risk and downgrade events."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from forecourt.db.outbox import OutboxEvent
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.tiers import jobs as tier_jobs
from forecourt.tiers import service as tiers
from tests.members.support import make_member

BEIJING = ZoneInfo("Asia/Shanghai")


def _sale(session, member, fen, key, at):
    with time_machine.travel(at, tick=False):
        return tiers.record_activity(
            session, SYSTEM, member.id, source_key=key, occurred_at=at, money_paid_fen=fen
        ).code


def _events(session, topic):
    session.expire_all()
    return [
        event.payload
        for event in session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.occurred_at)
        )
    ]


def test_the_monthly_evaluation_counts_whole_beijing_months_and_downgrades_after_three(
    session, member_pii, database, test_settings, monkeypatch
):
    monkeypatch.setattr(tier_jobs, "BATCH", 2)  # five members: three batches
    a_year_ago = datetime(2025, 3, 10, 10, 0, tzinfo=BEIJING)
    eve, dawn, idle_silver, idle_gold, late_riser = (make_member(session, member_pii) for _ in range(5))
    for member in (eve, dawn, idle_silver):
        assert _sale(session, member, 200_000, f"old-{member.id}", a_year_ago) == "silver"
    assert _sale(session, idle_gold, 900_000, "old-gold", a_year_ago) == "gold"
    assert len(_events(session, "tier.upgraded")) == 4

    # 23:30 on 31 March and 00:30 on 1 April in Beijing: both still 31 March in UTC.
    _sale(session, eve, 200_000, "eve", datetime(2026, 3, 31, 23, 30, tzinfo=BEIJING))
    _sale(session, dawn, 200_000, "dawn", datetime(2026, 4, 1, 0, 30, tzinfo=BEIJING))
    assert (
        _sale(session, late_riser, 200_000, "late", datetime(2026, 4, 1, 0, 40, tzinfo=BEIJING)) == "silver"
    )

    def evaluate(at):
        return run_job(database, test_settings, "evaluate-tiers", at)

    april = datetime(2026, 4, 1, 1, 0, tzinfo=BEIJING)  # started an hour late: evaluates as of 00:00
    assert evaluate(april) == {"kept": 2, "at_risk": 3}  # eve; the late riser waits for May
    assert evaluate(april) == {"kept": 2, "at_risk": 3}
    at_risk = _events(session, "tier.at_risk")
    assert sorted(event["member_id"] for event in at_risk) == sorted(
        str(member.id) for member in (dawn, idle_silver, idle_gold)
    )
    end_of_june = datetime(2026, 7, 1, tzinfo=BEIJING).isoformat()
    assert {event["grace_until"] for event in at_risk} == {end_of_june}
    assert {event["member_id"]: event["needed"] for event in at_risk}[str(idle_gold.id)] == 800_000

    assert evaluate(datetime(2026, 5, 1, 0, 20, tzinfo=BEIJING)) == {"kept": 3, "at_risk": 2}  # dawn's sale
    assert evaluate(datetime(2026, 6, 15, 9, 0, tzinfo=BEIJING)) == {"kept": 3, "at_risk": 2}
    assert _events(session, "tier.downgraded") == []

    july = datetime(2026, 7, 1, 0, 5, tzinfo=BEIJING)
    assert evaluate(july) == {"kept": 3, "downgraded": 2}
    downgrades = _events(session, "tier.downgraded")
    assert sorted(
        (event["member_id"], event["from"], event["to"], event["reason"]) for event in downgrades
    ) == sorted(
        [
            (str(idle_silver.id), "silver", "regular", "downgrade"),
            (str(idle_gold.id), "gold", "silver", "downgrade"),
        ]
    )
    assert {event["at"] for event in downgrades} == {datetime(2026, 7, 1, tzinfo=BEIJING).isoformat()}
    assert tiers.current(session, idle_gold.id).code == "silver"
    assert [change.reason for change in tiers.history(session, idle_gold.id)] == ["downgrade", "upgrade"]

    assert evaluate(datetime(2026, 8, 1, 3, 0, tzinfo=BEIJING)) == {"kept": 4, "at_risk": 1}
    assert tiers.current(session, idle_gold.id).code == "silver"
    assert tiers.current(session, eve.id).code == "silver"
    assert len(_events(session, "tier.upgraded")) == 5
