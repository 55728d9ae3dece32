"""Liability snapshots, breakage, earn/burn by station, month-end reconciliation and expiry
reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from forecourt.db.outbox import OutboxEvent
from forecourt.jobs.registry import JobContext, all_jobs, run_job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, chain_zone
from forecourt.ledger import liability, points
from forecourt.ledger.models import LedgerAccount
from forecourt.tiers import service as tiers
from tests.members.support import make_member

DAY = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def _job(name, database, settings, at):
    return {job.name: job for job in all_jobs()}[name].run(
        JobContext(database=database, settings=settings, at=at)
    )


def test_a_snapshot_values_outstanding_and_pending_points_at_the_unit_cost(session, signer, member_pii):
    member = make_member(session, member_pii)
    points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        1000,
        reason="fuel",
        idempotency_key="l-1",
        occurred_at=DAY,
        expires_at=DAY + timedelta(days=1),
        station="S001",
    )
    points.spend(
        session,
        signer,
        SYSTEM,
        member.id,
        200,
        reason="redeem",
        idempotency_key="l-2",
        occurred_at=DAY,
        station="S001",
    )
    points.earn_pending(
        session, signer, SYSTEM, member.id, 500, reason="referral", idempotency_key="l-3", occurred_at=DAY
    )
    points.expire_due(session, signer, SYSTEM, DAY + timedelta(days=2))
    snapshot = liability.take_snapshot(session, date(2099, 1, 1), unit_cost_millifen=1000)
    assert (snapshot.outstanding, snapshot.pending) == (0, 500)
    assert (snapshot.issued_total, snapshot.redeemed_total, snapshot.expired_total) == (1500, 200, 800)
    assert snapshot.liability_fen == 500
    assert str(liability.breakage_rate(snapshot)) == "0.5333"
    assert liability.take_snapshot(session, date(2099, 1, 1), unit_cost_millifen=5).id == snapshot.id
    flows = liability.earn_burn(session, DAY - timedelta(days=1), DAY + timedelta(days=3))
    by_station = {flow.station: flow for flow in flows}
    assert (by_station["S001"].earned, by_station["S001"].burned) == (1000, 200)
    assert by_station[None].expired == 800


def test_the_liability_report_is_for_finance(client, staff):
    today = datetime.now(UTC).date().isoformat()
    report = client.get(
        "/api/v1/reports/points-liability",
        params={"from": today, "to": today},
        headers=staff("finance").headers,
    )
    assert report.status_code == 200
    assert set(report.json()) == {"snapshots", "breakage_rate", "earn_burn"}
    backwards = client.get(
        "/api/v1/reports/points-liability",
        params={"from": today, "to": "2000-01-01"},
        headers=staff("finance").headers,
    )
    assert backwards.status_code == 400
    assert (
        client.get(
            "/api/v1/reports/points-liability",
            params={"from": today, "to": today},
            headers=staff("marketing").headers,
        ).status_code
        == 403
    )


def test_month_end_reconciliation_flags_a_balance_that_disagrees_with_its_entries(
    session, signer, member_pii, database, test_settings
):
    member = make_member(session, member_pii)
    points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        100,
        reason="fuel",
        idempotency_key="r-1",
        occurred_at=DAY,
        expires_at=None,
    )
    session.flush()
    assert _job("reconcile-ledger", database, test_settings, DAY)["ok"] is True
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.member_id == member.id)
        .values(balance=LedgerAccount.balance + 7)
    )
    session.flush()
    result = _job("reconcile-ledger", database, test_settings, DAY)
    assert (result["ok"], result["differences"]) == (False, 1)
    assert session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "ledger.reconciliation_failed")
    ).all()


def test_expiry_reminders_go_out_once_at_30_15_and_3_days(
    session, signer, member_pii, database, test_settings
):
    now = datetime.now(UTC)
    members = {days: make_member(session, member_pii) for days in (30, 15, 3, 10)}
    diamond = make_member(session, member_pii)
    tiers.record_activity(
        session, SYSTEM, diamond.id, source_key="diamond", occurred_at=now, money_paid_fen=2_000_000
    )
    for days, member in [*members.items(), (15, diamond)]:
        due = datetime.combine(chain_date(now) + timedelta(days=days), time(12), tzinfo=chain_zone())
        points.earn(
            session,
            signer,
            SYSTEM,
            member.id,
            100 + days,
            reason="fuel",
            idempotency_key=f"m-{member.id}",
            occurred_at=now,
            expires_at=due,
        )
    session.flush()
    first = _job("remind-expiring-points", database, test_settings, now)
    again = _job("remind-expiring-points", database, test_settings, now)
    assert first == again == {"30d": 1, "15d": 1, "3d": 1}
    reminders = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "points.expiring")).all()
    assert sorted(
        (event.payload["member_id"], event.payload["days"], event.payload["points"]) for event in reminders
    ) == sorted((str(members[days].id), days, 100 + days) for days in (30, 15, 3))


def test_the_daily_snapshot_job_records_yesterday_once(session, signer, member_pii, database, test_settings):
    member = make_member(session, member_pii)
    points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        1500,
        reason="fuel",
        idempotency_key="snap-1",
        occurred_at=datetime.now(UTC),
    )
    points.earn_pending(
        session,
        signer,
        SYSTEM,
        member.id,
        300,
        reason="referral",
        idempotency_key="snap-2",
        occurred_at=datetime.now(UTC),
    )
    session.flush()
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    today = str(chain_date(datetime.now(UTC)))
    first = run_job(database, test_settings, "snapshot-liability", tomorrow)
    assert first == {
        "day": today,
        "outstanding": 1500,
        "pending": 300,
        "liability_fen": 1800,
    }  # ¥0.01 a point
    points.earn(
        session,
        signer,
        SYSTEM,
        member.id,
        99,
        reason="fuel",
        idempotency_key="snap-3",
        occurred_at=datetime.now(UTC),
    )
    session.flush()
    assert run_job(database, test_settings, "snapshot-liability", tomorrow) == first
    rows = liability.snapshots(session, chain_date(datetime.now(UTC)), chain_date(datetime.now(UTC)))
    assert [(row.outstanding, row.liability_fen) for row in rows] == [(1500, 1800)]
