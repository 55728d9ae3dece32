"""Tier rules (immediate upgrades, grace, one-level downgrades, manual tiers, windows in Beijing
time, the never-expire benefit) and maker–checker point adjustments through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.audit.models import AuditEntry
from forecourt.db.outbox import OutboxEvent
from forecourt.kit.actor import SYSTEM
from forecourt.ledger import points
from forecourt.tiers import service as tiers
from forecourt.tiers.errors import InvalidTierChange
from forecourt.tiers.models import TierProgram
from tests.members.support import make_member

AT = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def _spend(session, member, fen, key, at=AT):
    return tiers.record_activity(
        session, SYSTEM, member.id, source_key=key, occurred_at=at, money_paid_fen=fen
    )


def _events(session, topic):
    return session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)).all()


def test_qualifying_spend_upgrades_at_once_and_counts_once(session, member_pii):
    member = make_member(session, member_pii)
    assert tiers.current(session, member.id).code == "regular"
    assert _spend(session, member, 200_000, "sale-1").code == "silver"
    assert _spend(session, member, 200_000, "sale-1").code == "silver"
    assert tiers.metric_value(session, member.id, datetime.now(UTC)) == 200_000
    assert [c.reason for c in tiers.history(session, member.id)] == ["upgrade"]
    assert _events(session, "tier.upgraded")
    assert _spend(session, member, 2_000_000, "sale-2").code == "diamond"


def test_a_member_below_their_tier_gets_a_grace_period_then_drops_one_level(session, member_pii):
    member = make_member(session, member_pii)
    _spend(session, member, 900_000, "sale", at=datetime.now(UTC) - timedelta(days=1))
    assert tiers.current(session, member.id).code == "gold"
    later = datetime.now(UTC) + timedelta(days=400)  # the spend has left the 12-month window
    assert tiers.evaluate_member(session, SYSTEM, member.id, later).outcome == "at_risk"
    assert _events(session, "tier.at_risk")
    within_grace = later + timedelta(days=60)
    assert tiers.evaluate_member(session, SYSTEM, member.id, within_grace).outcome == "at_risk"
    after_grace = later + timedelta(days=95)
    assert _events(session, "tier.downgraded") == []
    assert tiers.evaluate_member(session, SYSTEM, member.id, after_grace).tier == "silver"
    [downgraded] = _events(session, "tier.downgraded")
    assert downgraded.payload == {
        "member_id": str(member.id),
        "from": "gold",
        "to": "silver",
        "reason": "downgrade",
        "at": after_grace.isoformat(),
    }
    again = after_grace + timedelta(days=1)
    assert tiers.evaluate_member(session, SYSTEM, member.id, again).outcome == "at_risk"
    assert tiers.current(session, member.id).code == "silver"


def test_regaining_the_threshold_during_grace_keeps_the_tier(session, member_pii):
    member = make_member(session, member_pii)
    now = datetime.now(UTC)
    _spend(session, member, 250_000, "old", at=now - timedelta(days=300))
    assert tiers.evaluate_member(session, SYSTEM, member.id, now + timedelta(days=70)).outcome == "at_risk"
    _spend(session, member, 250_000, "new", at=now + timedelta(days=71))
    assert tiers.evaluate_member(session, SYSTEM, member.id, now + timedelta(days=200)).outcome == "kept"


def test_a_manual_tier_holds_until_it_expires(session, member_pii):
    member = make_member(session, member_pii)
    until = datetime.now(UTC) + timedelta(days=30)
    with pytest.raises(InvalidTierChange):
        tiers.set_manual(session, SYSTEM, member.id, "gold", until=until, note="")
    tiers.set_manual(session, SYSTEM, member.id, "gold", until=until, note="VIP guest")
    assert (
        tiers.evaluate_member(session, SYSTEM, member.id, until - timedelta(days=1)).outcome == "manual_held"
    )
    result = tiers.evaluate_member(session, SYSTEM, member.id, until + timedelta(days=1))
    assert (result.outcome, result.tier) == ("manual_expired", "regular")


def test_the_calendar_year_window_follows_beijing_time(session, member_pii):
    session.get(TierProgram, "default").window = "calendar_year"
    member = make_member(session, member_pii)
    last_evening = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 December in Beijing
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Beijing
    _spend(session, member, 100_000, "dec", at=last_evening)
    _spend(session, member, 100_000, "jan", at=new_year)
    assert tiers.metric_value(session, member.id, datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == 100_000
    assert tiers.metric_value(session, member.id, datetime(2027, 1, 2, tzinfo=UTC)) == 100_000


def test_progress_says_how_much_keeps_and_lifts_the_tier(session, member_pii):
    member = make_member(session, member_pii)
    _spend(session, member, 200_000, "a", at=datetime.now(UTC) - timedelta(days=1))
    progress = tiers.progress(session, member.id, datetime.now(UTC))
    assert (progress.tier.code, progress.to_keep, progress.to_next) == ("silver", 0, 600_000)


def test_diamond_points_never_expire(session, member_pii, signer):
    diamond, gold = make_member(session, member_pii), make_member(session, member_pii)
    _spend(session, diamond, 2_000_000, "d")
    _spend(session, gold, 800_000, "g")
    assert points.expiry_for_member(session, diamond.id, AT) is None
    assert points.expiry_for_member(session, gold.id, AT) == points.expiry_for(AT)
    for member in (diamond, gold):
        points.earn(
            session,
            signer,
            SYSTEM,
            member.id,
            100,
            reason="t",
            idempotency_key=f"e-{member.id}",
            occurred_at=AT,
            expires_at=AT + timedelta(days=1),
        )
    report = points.expire_due(session, signer, SYSTEM, AT + timedelta(days=2), spared=tiers.never_expiring)
    assert report.points == 100
    assert points.balances(session, diamond.id).available == 100
    assert points.balances(session, gold.id).available == 0


# --- adjustments ---------------------------------------------------------------------------------------


def test_an_adjustment_needs_a_second_person(client, session, member_pii, staff):
    member = make_member(session, member_pii)
    service, finance, admin = staff("service"), staff("finance"), staff("admin")
    url = f"/api/v1/members/{member.id}/point-adjustments"
    assert (
        client.post(
            url, json={"amount": 500, "reason": "补录"}, headers=staff("marketing").headers
        ).status_code
        == 403
    )
    assert client.post(url, json={"amount": 0, "reason": "x"}, headers=service.headers).json()["error"][
        "code"
    ] == ("invalid_adjustment")
    asked = client.post(url, json={"amount": 500, "reason": "补录加油积分"}, headers=service.headers).json()
    assert points.balances(session, member.id).available == 0
    approve = f"/api/v1/point-adjustments/{asked['id']}/approve"
    assert client.post(approve, json={}, headers=service.headers).status_code == 403
    approved = client.post(approve, json={}, headers=finance.headers)
    assert approved.json()["status"] == "approved"
    assert client.get(f"/api/v1/members/{member.id}/points", headers=admin.headers).json()["available"] == 500
    assert (
        client.post(approve, json={}, headers=finance.headers).json()["error"]["code"] == "adjustment_closed"
    )

    own = client.post(url, json={"amount": -100, "reason": "扣回"}, headers=admin.headers).json()
    refused = client.post(f"/api/v1/point-adjustments/{own['id']}/approve", json={}, headers=admin.headers)
    assert refused.json()["error"]["code"] == "self_approval"
    too_much = client.post(url, json={"amount": -900, "reason": "扣回"}, headers=service.headers).json()
    short = client.post(
        f"/api/v1/point-adjustments/{too_much['id']}/approve", json={}, headers=finance.headers
    )
    assert short.json()["error"]["code"] == "insufficient_points"
    pending = client.get("/api/v1/point-adjustments", headers=finance.headers).json()
    assert {row["id"] for row in pending} == {own["id"], too_much["id"]}
    ledger = client.get(f"/api/v1/members/{member.id}/ledger", headers=admin.headers).json()["items"]
    assert [(line["reason"], line["available"]) for line in ledger] == [("adjustment.grant", 500)]
    rejected = client.post(
        f"/api/v1/point-adjustments/{own['id']}/reject", json={"note": "无依据"}, headers=finance.headers
    )
    assert rejected.json()["status"] == "rejected"

    def audited(adjustment):
        return [
            (entry.action, entry.actor_id, entry.before, entry.after)
            for entry in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_type == "point_adjustment", AuditEntry.entity_id == adjustment["id"])
                .order_by(AuditEntry.occurred_at)
            )
        ]

    member_id = str(member.id)
    assert audited(asked) == [
        (
            "points.adjustment_request",
            str(service.user.id),
            None,
            {"member_id": member_id, "amount": 500, "reason": "补录加油积分"},
        ),
        (
            "points.adjustment_approve",
            str(finance.user.id),
            {"status": "pending"},
            {"status": "approved", "amount": 500, "note": ""},
        ),
    ]
    assert audited(own) == [
        (
            "points.adjustment_request",
            str(admin.user.id),
            None,
            {"member_id": member_id, "amount": -100, "reason": "扣回"},
        ),
        (
            "points.adjustment_reject",
            str(finance.user.id),
            {"status": "pending"},
            {"status": "rejected", "amount": -100, "note": "无依据"},
        ),
    ]
    assert [action for action, *_ in audited(too_much)] == ["points.adjustment_request"]


def test_the_tier_program_is_configurable_and_audited(client, session, staff):
    admin = staff("admin")
    assert client.get("/api/v1/tier-program", headers=admin.headers).json() == {
        "metric": "money_paid_fen",
        "window": "rolling_12_months",
        "grace_months": 3,
        "thresholds": {"regular": 0, "silver": 200_000, "gold": 800_000, "diamond": 2_000_000},
    }
    litres = {"regular": 0, "silver": 50_000, "gold": 150_000, "diamond": 400_000}
    changed = client.patch(
        "/api/v1/tier-program",
        json={"metric": "liters_centi", "grace_months": 2, "thresholds": litres},
        headers=admin.headers,
    )
    assert (changed.json()["metric"], changed.json()["grace_months"]) == ("liters_centi", 2)
    wrong = client.patch("/api/v1/tier-program", json={"window": "forever"}, headers=admin.headers)
    assert wrong.json()["error"]["code"] == "invalid_tier_change"
    assert (
        client.patch("/api/v1/tier-program", json={}, headers=staff("marketing").headers).status_code == 403
    )
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "tier.program_update")).all()
    assert entry.actor_id == str(admin.user.id)
    assert (entry.before["metric"], entry.after["metric"]) == ("money_paid_fen", "liters_centi")
    assert entry.after["thresholds"] == litres
