"""Risk on the member's own payments (SPEC X3): a top-up from a member-app device never verified
needs an SMS step-up, which passes once the code texted to the member's phone comes back; coupon
exchanges for points are refused in a burst of redemptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.members.models import Member
from forecourt.members.phones import normalise_phone
from forecourt.members.pii import Pii
from forecourt.members.sms import inbox
from forecourt.payments.models import PaymentIntent
from forecourt.risk import service as risk
from forecourt.risk.models import RiskDecision
from tests.coupons.support import EXCHANGE, make_template
from tests.members.support import earn_points, last_code
from tests.payments.support import STEP_UP, TOP_UP_INTENTS, VERIFY_DEVICE, DeviceLogin
from tests.pos.conftest import terminal
from tests.pos.support import Terminal, goods

__all__ = ["terminal"]


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    return error


def top_up(client: TestClient, login: DeviceLogin, amount_fen: int = 20_000) -> Any:
    return client.post(
        TOP_UP_INTENTS, json={"amount_fen": amount_fen, "provider": "sandbox"}, headers=login.headers
    )


def texted_code(session: Session, pii: Pii, phone: str) -> str:
    """The code of the newest text to the member's phone, which must be the step-up's."""
    session.expire_all()
    newest = inbox(session, pii, normalise_phone(phone))[0]
    assert "新设备" in newest.body
    return last_code(session, pii, phone)


def intents_of(session: Session, login: DeviceLogin) -> int:
    session.expire_all()
    query = select(func.count()).select_from(PaymentIntent)
    return int(session.scalar(query.where(PaymentIntent.member_id == uuid.UUID(login.member_id))) or 0)


def decisions_of(session: Session, login: DeviceLogin) -> list[RiskDecision]:
    session.expire_all()
    query = select(RiskDecision).where(RiskDecision.member_id == uuid.UUID(login.member_id))
    return list(session.scalars(query.order_by(RiskDecision.decided_at)))


def test_a_top_up_from_a_new_device_needs_a_step_up_and_creates_nothing_but_the_decision(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session
) -> None:
    login = member_auth(verified=False)
    refused = top_up(client, login)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "risk_step_up_required"
    assert error_of(refused)["details"]["device_id"] == login.device_id
    assert intents_of(session, login) == 0
    [decision] = decisions_of(session, login)
    assert (decision.action, decision.outcome, decision.rule) == ("payment", "step_up", "new_device_step_up")


def test_the_code_texted_to_the_members_phone_verifies_the_device_and_the_top_up_then_passes(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session, pii: Pii
) -> None:
    login = member_auth(verified=False)
    assert top_up(client, login).status_code == 409
    sent = client.post(STEP_UP, json={"device_id": login.device_id}, headers=login.headers)
    assert sent.status_code == 202, sent.text
    code = texted_code(session, pii, login.phone)
    verified = client.post(
        VERIFY_DEVICE, json={"device_id": login.device_id, "code": code}, headers=login.headers
    )
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"device_id": login.device_id, "verified": True}
    passed = top_up(client, login)
    assert passed.status_code == 201, passed.text
    assert intents_of(session, login) == 1
    assert [decision.outcome for decision in decisions_of(session, login)] == ["step_up", "step_up_passed"]


def test_a_wrong_code_is_counted_and_the_right_code_is_then_spent(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session, pii: Pii
) -> None:
    login = member_auth(verified=False)
    assert client.post(STEP_UP, json={"device_id": login.device_id}, headers=login.headers).status_code == 202
    code = texted_code(session, pii, login.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    attempt = client.post(
        VERIFY_DEVICE, json={"device_id": login.device_id, "code": wrong}, headers=login.headers
    )
    assert attempt.status_code == 400
    assert (error_of(attempt)["code"], error_of(attempt)["details"]["tries_left"]) == (
        "step_up_code_wrong",
        4,
    )
    right = {"device_id": login.device_id, "code": code}
    assert client.post(VERIFY_DEVICE, json=right, headers=login.headers).status_code == 200
    again = client.post(VERIFY_DEVICE, json=right, headers=login.headers)
    assert error_of(again)["code"] == "step_up_code_invalid"


def test_a_code_asked_for_one_device_does_not_verify_another(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session, pii: Pii
) -> None:
    login = member_auth(verified=False)
    assert client.post(STEP_UP, json={"device_id": login.device_id}, headers=login.headers).status_code == 202
    code = texted_code(session, pii, login.phone)
    other = client.post(
        VERIFY_DEVICE, json={"device_id": "another-phone", "code": code}, headers=login.headers
    )
    assert error_of(other)["code"] == "step_up_code_wrong"
    assert top_up(client, login).status_code == 409


def test_a_device_verified_by_one_member_is_still_new_for_another(
    client: TestClient, member_auth: Callable[..., DeviceLogin]
) -> None:
    first = member_auth()
    assert top_up(client, first).status_code == 201
    second = DeviceLogin(**{**vars(member_auth(verified=False)), "device_id": first.device_id})
    refused = top_up(client, second)
    assert error_of(refused)["code"] == "risk_step_up_required"


def test_a_top_up_intent_needs_the_device_id_header(
    client: TestClient, member_auth: Callable[..., DeviceLogin]
) -> None:
    login = member_auth()
    headers = {"Authorization": login.headers["Authorization"]}
    missing = client.post(TOP_UP_INTENTS, json={"amount_fen": 100, "provider": "sandbox"}, headers=headers)
    assert missing.status_code == 422


def test_a_new_device_passes_when_the_step_up_rule_is_off(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session
) -> None:
    risk.set_rule(session, SYSTEM, "new_device_step_up", enabled=False, params={})
    session.flush()
    assert top_up(client, member_auth(verified=False)).status_code == 201


def test_a_top_up_past_the_daily_limit_is_rejected(
    client: TestClient, member_auth: Callable[..., DeviceLogin], session: Session
) -> None:
    risk.set_rule(session, SYSTEM, "paid_per_day", enabled=True, params={"max_paid_fen": 10_000})
    session.flush()
    refused = top_up(client, member_auth(), amount_fen=10_001)
    assert refused.status_code == 409
    assert (error_of(refused)["code"], error_of(refused)["details"]["rule"]) == (
        "risk_rejected",
        "paid_per_day",
    )


# --- coupon exchange -----------------------------------------------------------------------------


@pytest.fixture
def driver(session: Session, pii: Pii, member_auth: Callable[..., DeviceLogin]) -> tuple[DeviceLogin, Member]:
    login = member_auth()
    found = session.get(Member, uuid.UUID(login.member_id))
    assert found is not None
    return login, found


def test_a_coupon_exchange_is_refused_in_a_burst_of_redemptions(
    client: TestClient,
    terminal: Terminal,
    driver: tuple[DeviceLogin, Member],
    session: Session,
    app: Any,
) -> None:
    login, member = driver
    risk.set_rule(
        session,
        SYSTEM,
        "redemption_burst",
        enabled=True,
        params={"max_redemptions": 2, "window_seconds": 600},
    )
    risk.set_rule(
        session,
        SYSTEM,
        "payments_per_minute",
        enabled=False,
        params={"max_payments": 3, "window_seconds": 60},
    )
    template = make_template(session, points_price=100)
    earn_points(session, app.state.ledger_signer, member.id, 10_000)
    for _ in range(2):
        sold = terminal.commit(terminal.basket(goods(unit_price_fen=3000), member=member, points=1000))
        assert sold.status_code == 201, sold.text
    refused = client.post(EXCHANGE, json={"template": template.code}, headers=login.headers)
    assert refused.status_code == 409, refused.text
    assert (error_of(refused)["code"], error_of(refused)["details"]["rule"]) == (
        "risk_rejected",
        "redemption_burst",
    )
    [decision] = [d for d in decisions_of(session, login) if d.rule == "redemption_burst"]
    assert decision.action == "redemption"


def test_a_coupon_exchange_passes_without_a_burst(
    client: TestClient, driver: tuple[DeviceLogin, Member], session: Session, app: Any
) -> None:
    login, member = driver
    template = make_template(session, points_price=100)
    earn_points(session, app.state.ledger_signer, member.id, 1_000)
    exchanged = client.post(EXCHANGE, json={"template": template.code}, headers=login.headers)
    assert exchanged.status_code == 201, exchanged.text


def test_coupons_bought_with_points_count_as_redemptions_in_a_burst(
    client: TestClient, driver: tuple[DeviceLogin, Member], session: Session, app: Any
) -> None:
    login, member = driver
    risk.set_rule(
        session,
        SYSTEM,
        "redemption_burst",
        enabled=True,
        params={"max_redemptions": 2, "window_seconds": 600},
    )
    template = make_template(session, points_price=100)
    earn_points(session, app.state.ledger_signer, member.id, 1_000)
    for _ in range(2):
        bought = client.post(EXCHANGE, json={"template": template.code}, headers=login.headers)
        assert bought.status_code == 201, bought.text
    refused = client.post(EXCHANGE, json={"template": template.code}, headers=login.headers)
    assert refused.status_code == 409, refused.text
    assert error_of(refused)["details"]["rule"] == "redemption_burst"


def test_online_top_ups_count_towards_the_payment_limits(
    client: TestClient, driver: tuple[DeviceLogin, Member], session: Session
) -> None:
    """Three top-ups asked for in a minute: the fourth is refused like a fourth sale would be; and a
    day's top-ups count towards the daily amount."""
    login, _ = driver
    for _ in range(3):
        assert top_up(client, login, 10_000).status_code == 201
    fourth = top_up(client, login, 10_000)
    assert fourth.status_code == 409, fourth.text
    assert error_of(fourth)["details"]["rule"] == "payments_per_minute"
    risk.set_rule(
        session,
        SYSTEM,
        "payments_per_minute",
        enabled=False,
        params={"max_payments": 3, "window_seconds": 60},
    )
    risk.set_rule(session, SYSTEM, "paid_per_day", enabled=True, params={"max_paid_fen": 35_000})
    over = top_up(client, login, 10_000)
    assert over.status_code == 409, over.text
    assert error_of(over)["details"]["rule"] == "paid_per_day"
