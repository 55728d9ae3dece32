"""Staff review the risk decisions and tune the rules (SPEC X3); members prove a new device."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.kit.clock import utcnow
from forecourt.members.models import Member
from forecourt.risk import service as risk
from forecourt.risk.errors import RiskRejected, RiskStepUpRequired
from forecourt.risk.models import RiskDecision, RiskRule

DECISIONS = "/api/v1/risk/decisions"
RULES = "/api/v1/risk/rules"


def refuse_payments(session: Session, member: Member, count: int) -> list[str]:
    """``count`` refused payments of the member (each over the daily limit), the decision ids."""
    ids = []
    for index in range(count):
        with pytest.raises(RiskRejected) as refused:
            risk.check_payment(session, member.id, 1_000_001 + index, utcnow() - timedelta(minutes=index))
        ids.append(refused.value.details["decision_id"])
    return ids


def test_migrate_installs_the_default_rules(session: Session) -> None:
    rules = {row.code: row for row in session.scalars(select(RiskRule))}
    assert rules["payments_per_minute"].params == {"max_payments": 3, "window_seconds": 60}
    assert rules["paid_per_day"].params == {"max_paid_fen": 1_000_000}
    assert rules["redemption_burst"].params == {"max_redemptions": 10, "window_seconds": 600}
    assert rules["new_device_step_up"].params == {}
    assert all(row.enabled for row in rules.values())


def test_installing_the_defaults_again_keeps_what_staff_tuned(session: Session) -> None:
    from forecourt.kit.actor import SYSTEM

    risk.set_rule(session, SYSTEM, "paid_per_day", enabled=False, params={"max_paid_fen": 5})
    risk.install_defaults(session)
    row = session.scalar(select(RiskRule).where(RiskRule.code == "paid_per_day"))
    assert row is not None
    assert (row.enabled, row.params) == (False, {"max_paid_fen": 5})


def test_finance_lists_the_rules_and_tunes_one_with_an_audit_entry(
    client: TestClient, staff: Any, session: Session
) -> None:
    finance = staff("finance")
    listed = client.get(RULES, headers=finance.headers)
    assert listed.status_code == 200
    assert [rule["code"] for rule in listed.json()] == [
        "new_device_step_up",
        "paid_per_day",
        "payments_per_minute",
        "redemption_burst",
    ]
    changed = client.put(
        f"{RULES}/redemption_burst",
        json={"enabled": True, "params": {"max_redemptions": 4, "window_seconds": 300}},
        headers=finance.headers,
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["params"] == {"max_redemptions": 4, "window_seconds": 300}
    assert changed.json()["updated_by"] == finance.user.username
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "risk.rule_set"))
    assert entry is not None
    assert entry.entity_id == "redemption_burst"
    assert entry.before == {"enabled": True, "params": {"max_redemptions": 10, "window_seconds": 600}}
    assert entry.after == {"enabled": True, "params": {"max_redemptions": 4, "window_seconds": 300}}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"max_payments": 0, "window_seconds": 60}, "max_payments must be between 1 and 1000"),
        ({"max_payments": 3}, "window_seconds is required"),
        ({"max_payments": 3, "window_seconds": 60, "burst": 2}, "unknown parameter 'burst'"),
    ],
)
def test_parameters_that_do_not_fit_the_rule_are_refused(
    client: TestClient, staff: Any, params: dict[str, int], problem: str
) -> None:
    answer = client.put(
        f"{RULES}/payments_per_minute",
        json={"enabled": True, "params": params},
        headers=staff("finance").headers,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_risk_params"
    assert problem in answer.json()["error"]["details"]["problems"]


def test_a_rule_that_does_not_exist_cannot_be_set(client: TestClient, staff: Any) -> None:
    answer = client.put(
        f"{RULES}/velocity", json={"enabled": True, "params": {}}, headers=staff("finance").headers
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "risk_rule_not_found"


def test_only_finance_reviews_and_tunes(client: TestClient, staff: Any) -> None:
    marketing = staff("marketing").headers
    assert client.get(DECISIONS, headers=marketing).status_code == 403
    assert client.get(RULES, headers=marketing).status_code == 403
    assert (
        client.put(
            f"{RULES}/paid_per_day", json={"enabled": False, "params": {"max_paid_fen": 1}}, headers=marketing
        ).status_code
        == 403
    )


def test_finance_reviews_a_decision_and_the_queue_shows_what_is_left(
    client: TestClient, staff: Any, session: Session, member: Callable[..., Member]
) -> None:
    finance = staff("finance")
    driver, other = member(), member()
    first, second = refuse_payments(session, driver, 2)
    refuse_payments(session, other, 1)
    session.flush()

    mine = client.get(DECISIONS, params={"member_id": str(driver.id)}, headers=finance.headers)
    assert mine.status_code == 200
    assert [item["id"] for item in mine.json()["items"]] == [first, second]  # newest first
    assert mine.json()["items"][0]["reasons"]["would_be_fen"] == 1_000_001

    reviewed = client.post(
        f"{DECISIONS}/{first}/review", json={"note": "顾客购车队油卡, 正常"}, headers=finance.headers
    )
    assert reviewed.status_code == 200, reviewed.json()
    assert reviewed.json()["review_note"] == "顾客购车队油卡, 正常"
    assert reviewed.json()["reviewed_at"] is not None

    open_ones = client.get(
        DECISIONS, params={"member_id": str(driver.id), "reviewed": "false"}, headers=finance.headers
    )
    assert [item["id"] for item in open_ones.json()["items"]] == [second]
    done = client.get(DECISIONS, params={"reviewed": "true", "rule": "paid_per_day"}, headers=finance.headers)
    assert [item["id"] for item in done.json()["items"]] == [first]
    assert (
        client.get(
            DECISIONS,
            params={"rule": "redemption_burst", "member_id": str(driver.id)},
            headers=finance.headers,
        ).json()["items"]
        == []
    )

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "risk.decision_reviewed"))
    assert entry is not None
    assert entry.entity_id == first
    assert entry.after is not None
    assert entry.after["review_note"] == "顾客购车队油卡, 正常"


def test_the_decisions_come_in_pages(
    client: TestClient, staff: Any, session: Session, member: Callable[..., Member]
) -> None:
    driver = member()
    ids = refuse_payments(session, driver, 3)
    session.flush()
    headers = staff("finance").headers
    page = client.get(DECISIONS, params={"member_id": str(driver.id), "limit": 2}, headers=headers).json()
    assert [item["id"] for item in page["items"]] == ids[:2]
    rest = client.get(
        DECISIONS,
        params={"member_id": str(driver.id), "limit": 2, "cursor": page["next_cursor"]},
        headers=headers,
    ).json()
    assert [item["id"] for item in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None


def test_reviewing_a_decision_that_does_not_exist_is_not_found(client: TestClient, staff: Any) -> None:
    answer = client.post(
        f"{DECISIONS}/{uuid.uuid4()}/review", json={"note": "?"}, headers=staff("finance").headers
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "risk_decision_not_found"


# --- a new member-app device ---------------------------------------------------------------------


def test_a_payment_from_a_device_never_verified_needs_an_sms_step_up(
    session: Session, member: Callable[..., Member]
) -> None:
    driver = member()
    now = utcnow()
    with pytest.raises(RiskStepUpRequired) as step_up:
        risk.check_payment(session, driver.id, 50_000, now, device_id="iphone-1")
    assert step_up.value.code == "risk_step_up_required"
    assert step_up.value.details["rule"] == "new_device_step_up"
    decision = session.get(RiskDecision, uuid.UUID(step_up.value.details["decision_id"]))
    assert decision is not None
    assert (decision.outcome, decision.reasons["device_id"]) == ("step_up", "iphone-1")

    risk.confirm_device(session, driver.id, "iphone-1", now)  # after the member's SMS code checked out
    risk.check_payment(session, driver.id, 50_000, now, device_id="iphone-1")
    with pytest.raises(RiskStepUpRequired):
        risk.check_payment(session, driver.id, 50_000, now, device_id="android-2")


def test_a_device_verified_for_one_member_is_new_for_another(
    session: Session, member: Callable[..., Member]
) -> None:
    first, second = member(), member()
    risk.confirm_device(session, first.id, "shared-tablet", utcnow())
    with pytest.raises(RiskStepUpRequired):
        risk.require_known_device(session, second.id, "shared-tablet", utcnow())


def test_with_the_step_up_rule_off_new_devices_pay_without_a_code(
    session: Session, member: Callable[..., Member]
) -> None:
    from forecourt.kit.actor import SYSTEM

    risk.set_rule(session, SYSTEM, "new_device_step_up", enabled=False, params={})
    risk.check_payment(session, member().id, 50_000, utcnow(), device_id="new-phone")


def test_rules_off_switches_the_named_rules_off_and_leaves_the_others(
    session: Session, member: Callable[..., Member]
) -> None:
    from tests.risk.support import rules_off

    rules_off(session, "paid_per_day")
    risk.check_payment(session, member().id, 5_000_000, utcnow())
    with pytest.raises(RiskStepUpRequired):
        risk.check_payment(session, member().id, 1, utcnow(), device_id="new")
    rules_off(session)
    risk.check_payment(session, member().id, 1, utcnow(), device_id="new")
