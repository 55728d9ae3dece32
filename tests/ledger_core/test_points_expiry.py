"""When points expire: the configured policy (24 months rolling by default, or the end of the year
after the earn, in Beijing time), the diamond tier's never-expire benefit for every kind of earn, and
the ``expire-points`` job finishing an interrupted run without expiring anything twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from forecourt.config import get_settings
from forecourt.jobs.models import JobRun
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.ledger import jobs as ledger_jobs
from forecourt.ledger import points, verify
from forecourt.ledger.models import LedgerAccount, Lot, Posting
from forecourt.tiers import service as tiers
from tests.conftest import RollbackDatabase
from tests.members.support import make_member

BEIJING = ZoneInfo("Asia/Shanghai")
NEW_YEARS_EVE = datetime(2026, 12, 31, 23, 30, tzinfo=BEIJING)
NEW_YEARS_DAY = datetime(2027, 1, 1, 0, 30, tzinfo=BEIJING)


@pytest.fixture
def expiry_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set ``FORECOURT_POINTS_EXPIRY_*`` for the test (the settings are read afresh)."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _lot_expiries(session, member):
    return [
        lot.expires_at
        for lot in session.scalars(
            select(Lot)
            .join(LedgerAccount, LedgerAccount.id == Lot.account_id)
            .where(LedgerAccount.member_id == member.id)
            .order_by(Lot.created_at, Lot.id)
        )
    ]


def _earn(session, signer, member, amount, key, at):
    return points.earn(
        session, signer, SYSTEM, member.id, amount, reason="fuel", idempotency_key=key, occurred_at=at
    )


def _make_diamond(session, member):
    tiers.record_activity(
        session,
        SYSTEM,
        member.id,
        source_key=f"diamond-{member.id}",
        occurred_at=datetime.now(UTC),
        money_paid_fen=2_000_000,
    )
    assert tiers.current(session, member.id).code == "diamond"


def test_by_default_points_expire_24_months_after_they_were_earned_in_beijing_time(
    session, signer, member_pii
):
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "dec", NEW_YEARS_EVE)
    _earn(session, signer, member, 100, "feb", datetime(2026, 2, 28, 23, 30, tzinfo=BEIJING))
    assert _lot_expiries(session, member) == [
        datetime(2028, 12, 31, 23, 30, tzinfo=BEIJING),
        datetime(2028, 2, 28, 23, 30, tzinfo=BEIJING),
    ]


def test_the_number_of_months_is_a_setting(session, signer, member_pii, expiry_env):
    expiry_env.setenv("FORECOURT_POINTS_EXPIRY_MONTHS", "12")
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "dec", NEW_YEARS_EVE)
    assert _lot_expiries(session, member) == [datetime(2027, 12, 31, 23, 30, tzinfo=BEIJING)]


def test_end_of_year_points_last_until_the_end_of_the_next_beijing_year(
    session, signer, member_pii, expiry_env
):
    expiry_env.setenv("FORECOURT_POINTS_EXPIRY_POLICY", "end_of_year")
    member = make_member(session, member_pii)
    _earn(session, signer, member, 100, "eve", NEW_YEARS_EVE)  # 15:30 UTC, still 2026 in Beijing
    _earn(session, signer, member, 40, "day", NEW_YEARS_DAY)  # 16:30 UTC on 31 Dec, 2027 in Beijing
    end_of_2027 = datetime(2028, 1, 1, tzinfo=BEIJING)
    end_of_2028 = datetime(2029, 1, 1, tzinfo=BEIJING)
    assert _lot_expiries(session, member) == [end_of_2027, end_of_2028]

    expire = points.expire_due
    assert expire(session, signer, SYSTEM, end_of_2027 - timedelta(seconds=1)).points == 0
    assert expire(session, signer, SYSTEM, end_of_2027).points == 100
    assert points.balances(session, member.id).available == 40
    assert expire(session, signer, SYSTEM, end_of_2028).points == 40


def test_posted_pending_points_expire_by_the_policy_too(session, signer, member_pii):
    member = make_member(session, member_pii)
    pending = points.earn_pending(
        session,
        signer,
        SYSTEM,
        member.id,
        1000,
        reason="referral",
        idempotency_key="ref",
        occurred_at=NEW_YEARS_EVE,
    )
    points.settle_pending(
        session, signer, SYSTEM, pending.posting.id, outcome="post", occurred_at=NEW_YEARS_DAY
    )
    assert _lot_expiries(session, member) == [datetime(2029, 1, 1, 0, 30, tzinfo=BEIJING)]


def test_an_approved_grant_to_a_diamond_member_never_expires(
    client, session, member_pii, staff, database, test_settings
):
    diamond, gold = make_member(session, member_pii), make_member(session, member_pii)
    _make_diamond(session, diamond)
    tiers.record_activity(
        session, SYSTEM, gold.id, source_key="gold", occurred_at=datetime.now(UTC), money_paid_fen=800_000
    )
    service, finance = staff("service"), staff("finance")
    granted = {}
    for member in (diamond, gold):
        asked = client.post(
            f"/api/v1/members/{member.id}/point-adjustments",
            json={"amount": 500, "reason": "补录加油积分"},
            headers=service.headers,
        ).json()
        approved = client.post(
            f"/api/v1/point-adjustments/{asked['id']}/approve", json={}, headers=finance.headers
        ).json()
        granted[member.id] = datetime.fromisoformat(approved["decided_at"])

    diamond_points = client.get(f"/api/v1/members/{diamond.id}/points", headers=finance.headers).json()
    assert [lot["expires_at"] for lot in diamond_points["lots"]] == [None]
    assert diamond_points["next_expiry"] is None
    gold_points = client.get(f"/api/v1/members/{gold.id}/points", headers=finance.headers).json()
    gold_expiry = points.expiry_for(granted[gold.id])
    assert datetime.fromisoformat(gold_points["lots"][0]["expires_at"]) == gold_expiry
    assert gold_points["next_expiry"]["points"] == 500

    result = run_job(database, test_settings, "expire-points", gold_expiry + timedelta(days=3650))
    assert result == {"lots": 1, "points": 500}
    assert points.balances(session, diamond.id).available == 500
    assert points.balances(session, gold.id).available == 0


# --- the expire-points job -------------------------------------------------------------------------


class KilledMidBatch(RollbackDatabase):
    """Dies inside the ``crash_on``-th unit of work, after doing it but before it commits."""

    def __init__(self, database: RollbackDatabase, crash_on: int) -> None:
        super().__init__(database.connection)
        self.crash_on, self.runs = crash_on, 0

    def run(self, work, *, write=True):
        self.runs += 1
        if self.runs != self.crash_on:
            return super().run(work, write=write)

        def crash(session):
            work(session)
            raise RuntimeError("the worker was killed")

        return super().run(crash, write=write)


def test_an_interrupted_expiry_run_is_finished_by_the_next_without_expiring_twice(
    session, signer, member_pii, database, test_settings, monkeypatch
):
    monkeypatch.setattr(ledger_jobs, "EXPIRY_BATCH", 2)
    earned_at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    due = earned_at + timedelta(days=30)
    members = [make_member(session, member_pii) for _ in range(3)]
    for n in range(7):
        points.earn(
            session,
            signer,
            SYSTEM,
            members[n % 3].id,
            10 + n,
            reason="fuel",
            idempotency_key=f"due-{n}",
            occurred_at=earned_at,
            expires_at=due + timedelta(hours=n),
        )
    _earn(session, signer, members[0], 1000, "later", earned_at)  # 24 months: not due
    diamond = make_member(session, member_pii)
    _make_diamond(session, diamond)
    points.earn(
        session,
        signer,
        SYSTEM,
        diamond.id,
        500,
        reason="fuel",
        idempotency_key="spared",
        occurred_at=earned_at,
        expires_at=due,
    )
    session.flush()
    at = due + timedelta(days=1)

    with pytest.raises(RuntimeError, match="killed"):
        run_job(KilledMidBatch(database, crash_on=3), test_settings, "expire-points", at)
    assert _expiry_postings(session) == 4
    assert session.scalars(select(JobRun.status).where(JobRun.name == "expire-points")).all() == ["failed"]

    assert run_job(database, test_settings, "expire-points", at) == {"lots": 3, "points": 14 + 15 + 16}
    assert run_job(database, test_settings, "expire-points", at) == {"lots": 0, "points": 0}
    assert _expiry_postings(session) == 7
    assert [points.balances(session, member.id).available for member in members] == [1000, 0, 0]
    assert points.balances(session, diamond.id).available == 500
    assert points.program_balance(session, "expiry") == sum(10 + n for n in range(7))
    report = verify.verify(session, verify.public_keys(signer, ""))
    assert report.intact, report.problems


def _expiry_postings(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Posting).where(Posting.reason == "expiry"))
