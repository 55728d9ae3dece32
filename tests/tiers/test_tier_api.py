"""Tiers through the API: progress ("再消费¥200即可保级", projected tier) for staff and for the member,
a program whose metric, window and thresholds decide who qualifies, and tiers set by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from forecourt.audit.models import AuditEntry
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.tiers import service as tiers
from tests.members.support import make_member, member_login, unique_phone

BEIJING = ZoneInfo("Asia/Shanghai")
PROGRAM = "/api/v1/tier-program"


def _sale(session, member_id, key, at, **metrics):
    with time_machine.travel(at, tick=False):
        return tiers.record_activity(
            session, SYSTEM, member_id, source_key=key, occurred_at=at, **metrics
        ).code


def _audit(session, action, entity_id):
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.occurred_at)
    ).all()


def test_a_silver_member_short_of_the_threshold_is_told_to_spend_200_yuan_more(
    client, session, member_pii, staff, database, test_settings
):
    phone = unique_phone()
    member = make_member(session, member_pii, phone=phone)
    assert _sale(
        session, member.id, "april", datetime(2025, 4, 20, 10, tzinfo=BEIJING), money_paid_fen=200_000
    ) == ("silver")
    _sale(session, member.id, "june", datetime(2025, 6, 1, 10, tzinfo=BEIJING), money_paid_fen=180_000)
    run_job(database, test_settings, "evaluate-tiers", datetime(2026, 5, 1, 0, 10, tzinfo=BEIJING))

    with time_machine.travel(datetime(2026, 5, 15, 12, tzinfo=BEIJING), tick=False):
        as_staff = client.get(f"/api/v1/members/{member.id}/tier", headers=staff("service").headers)
        as_member = client.get(
            "/api/v1/me/tier", headers=member_login(client, session, member_pii, phone).headers
        )
    assert as_staff.status_code == as_member.status_code == 200
    assert as_member.json() == as_staff.json()
    status = as_member.json()
    assert (status["tier"]["code"], status["projected_tier"]["code"]) == ("silver", "regular")
    assert (status["metric"], status["window"], status["value"]) == (
        "money_paid_fen",
        "rolling_12_months",
        180_000,
    )
    assert status["to_keep"] == 20_000  # 再消费¥200即可保级
    assert (status["next_tier"]["code"], status["to_next"]) == ("gold", 620_000)
    assert datetime.fromisoformat(status["grace_until"]) == datetime(2026, 8, 1, tzinfo=BEIJING)
    assert [(change["from_code"], change["to_code"], change["reason"]) for change in status["history"]] == [
        ("regular", "silver", "upgrade")
    ]

    _sale(session, member.id, "kept", datetime(2026, 5, 16, 9, tzinfo=BEIJING), money_paid_fen=20_000)
    with time_machine.travel(datetime(2026, 5, 16, 12, tzinfo=BEIJING), tick=False):
        status = client.get(f"/api/v1/members/{member.id}/tier", headers=staff("service").headers).json()
    assert (status["projected_tier"]["code"], status["to_keep"], status["grace_until"]) == ("silver", 0, None)


def test_the_metric_window_and_thresholds_decide_who_qualifies(client, session, member_pii, staff):
    admin = staff("admin")
    now = datetime.now(UTC)
    big_spender, trucker = make_member(session, member_pii), make_member(session, member_pii)
    _sale(session, big_spender.id, "b", now, money_paid_fen=300_000, liters_centi=4_000, visits=2)
    _sale(session, trucker.id, "t1", now, money_paid_fen=50_000, liters_centi=90_000, visits=12)
    _sale(session, trucker.id, "t0", now - timedelta(days=400), liters_centi=10_000, visits=20)

    def status(member):
        return client.get(f"/api/v1/members/{member.id}/tier", headers=admin.headers).json()

    def projected(member):
        found = status(member)
        return found["projected_tier"]["code"], found["value"]

    assert projected(big_spender) == ("silver", 300_000)
    assert projected(trucker) == ("regular", 50_000)

    litres = {"regular": 0, "silver": 50_000, "gold": 150_000, "diamond": 400_000}  # 500 / 1,500 / 4,000 L
    changed = client.patch(
        PROGRAM, json={"metric": "liters_centi", "thresholds": litres}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "metric": "liters_centi",
        "window": "rolling_12_months",
        "grace_months": 3,
        "thresholds": litres,
    }
    assert projected(big_spender) == ("regular", 4_000)
    assert projected(trucker) == ("silver", 90_000)
    assert status(trucker)["tier"]["code"] == "regular"  # upgrades come with the next fill-up
    assert _sale(session, trucker.id, "t2", now, liters_centi=1_000, visits=1) == "silver"

    visits = {"silver": 10, "gold": 30, "diamond": 60}
    assert client.patch(
        PROGRAM, json={"metric": "visits", "thresholds": {"regular": 0, **visits}}, headers=admin.headers
    ).json()["thresholds"] == {"regular": 0, **visits}
    assert projected(trucker) == ("silver", 13)
    assert client.patch(PROGRAM, json={"window": "cumulative"}, headers=admin.headers).status_code == 200
    assert projected(trucker) == ("gold", 33)  # the visits of 400 days ago count again
    assert projected(big_spender) == ("regular", 2)

    update = _audit(session, "tier.program_update", "default")[-1]
    assert update.before["thresholds"]["gold"] == 30
    assert update.after["window"] == "cumulative"


def test_thresholds_must_fit_the_tiers_and_come_with_a_new_metric(client, staff):
    admin = staff("admin")

    def refused(body):
        response = client.patch(PROGRAM, json=body, headers=admin.headers)
        assert response.status_code == 400, response.text
        return response.json()["error"]["details"].get("field")

    assert refused({"metric": "visits"}) == "thresholds"
    assert refused({"thresholds": {"platinum": 5}}) == "thresholds"
    assert refused({"thresholds": {"regular": 1}}) == "thresholds"
    assert refused({"thresholds": {"gold": 100_000}}) == "thresholds"  # below silver's 200,000
    assert (
        client.patch(PROGRAM, json={"thresholds": {"silver": -1}}, headers=admin.headers).status_code == 422
    )
    assert client.get(PROGRAM, headers=admin.headers).json()["thresholds"] == {
        "regular": 0,
        "silver": 200_000,
        "gold": 800_000,
        "diamond": 2_000_000,
    }
    gold_only = client.patch(PROGRAM, json={"thresholds": {"gold": 600_000}}, headers=admin.headers)
    assert gold_only.json()["thresholds"]["gold"] == 600_000
    assert client.patch(PROGRAM, json={}, headers=staff("marketing").headers).status_code == 403


def test_a_tier_set_by_hand_holds_until_its_expiry_and_is_audited(
    client, session, member_pii, staff, database, test_settings
):
    member = make_member(session, member_pii)
    service = staff("service")
    url = f"/api/v1/members/{member.id}/tier"
    until = datetime.now(UTC) + timedelta(days=30)
    body = {"tier": "gold", "until": until.isoformat(), "note": "车队客户试用金卡"}
    for role in ("marketing", "finance", "attendant"):
        assert client.put(url, json=body, headers=staff(role).headers).status_code == 403
    past = client.put(url, json={**body, "until": "2020-01-01T00:00:00+08:00"}, headers=service.headers)
    assert past.json()["error"]["code"] == "invalid_tier_change"
    assert client.put(url, json={**body, "tier": "platinum"}, headers=service.headers).status_code == 404

    response = client.put(url, json=body, headers=service.headers)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["tier"]["code"] == "gold"
    assert datetime.fromisoformat(status["manual_until"]) == until
    assert [(c["to_code"], c["reason"], c["note"]) for c in status["history"]] == [
        ("gold", "manual", body["note"])
    ]
    assert status["history"][0]["actor"] == f"staff:{service.user.username}"
    [entry] = _audit(session, "tier.set_manual", member.id)
    assert (entry.actor_id, entry.actor_role) == (str(service.user.id), "service")
    assert entry.before == {"tier": "regular"}
    assert entry.after["tier"] == "gold"
    assert datetime.fromisoformat(entry.after["until"]) == until

    assert run_job(database, test_settings, "evaluate-tiers", until - timedelta(days=1)) == {"manual_held": 1}
    after = run_job(database, test_settings, "evaluate-tiers", until + timedelta(days=32))
    assert after == {"manual_expired": 1}
    assert tiers.current(session, member.id).code == "regular"
