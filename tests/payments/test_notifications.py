"""Top-up intents paid through notifications: verified, once, in any order."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from forecourt.payments.models import PaymentIntent, PaymentNotification
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.wallet import service as wallet
from tests.payments.support import (
    SANDBOX_SECRET,
    TOP_UP_INTENTS,
    alipay_notification,
    notify_path,
    unionpay_notification,
    wechat_notification,
)

SANDBOX = Sandbox(SANDBOX_SECRET)


def _intent(client, member_auth, amount_fen=50_000, provider="sandbox"):
    login = member_auth()
    response = client.post(
        TOP_UP_INTENTS, json={"amount_fen": amount_fen, "provider": provider}, headers=login.headers
    )
    assert response.status_code == 201, response.text
    return login, response.json()


def _balances(session, member_id):
    purse = wallet.balances(session, uuid.UUID(str(member_id)))
    return purse.principal_fen, purse.bonus_fen


def _notify(client, provider, message):
    headers, body = message
    return client.post(notify_path(provider), content=body, headers=headers)


def _status(session, intent):
    row = session.get(PaymentIntent, uuid.UUID(intent["id"]))
    session.refresh(row)
    return row.status


def test_member_top_up_of_500_yuan_paid_in_the_sandbox_credits_principal_and_50_bonus(
    client, session, member_auth
):
    login, intent = _intent(client, member_auth)
    assert intent["status"] == "created"
    assert len(intent["out_trade_no"]) == 32
    paid = client.post(f"{TOP_UP_INTENTS}/{intent['id']}/sandbox-pay", headers=login.headers)
    assert paid.status_code == 202, paid.text
    assert _balances(session, login.member_id) == (50_000, 5_000)
    mine = client.get(f"{TOP_UP_INTENTS}/{intent['id']}", headers=login.headers).json()
    assert mine["status"] == "paid"
    again = client.post(f"{TOP_UP_INTENTS}/{intent['id']}/sandbox-pay", headers=login.headers)
    assert again.status_code == 409


def test_the_same_notification_twice_credits_the_wallet_once(client, session, member_auth):
    login, intent = _intent(client, member_auth)
    message = SANDBOX.notification("paid", intent["out_trade_no"], 50_000, notify_id="N-1")
    assert _notify(client, "sandbox", message).json() == {"code": "SUCCESS"}
    assert _notify(client, "sandbox", message).json() == {"code": "SUCCESS"}
    other = SANDBOX.notification("paid", intent["out_trade_no"], 50_000, notify_id="N-2")
    assert _notify(client, "sandbox", other).status_code == 200
    assert _balances(session, login.member_id) == (50_000, 5_000)
    outcomes = session.scalars(
        select(PaymentNotification.outcome).where(PaymentNotification.intent_id == uuid.UUID(intent["id"]))
    )
    assert sorted(outcomes) == ["already_paid", "paid"]


def test_paid_after_closed_still_credits_the_money_the_member_paid(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=10_000)
    _notify(client, "sandbox", SANDBOX.notification("closed", intent["out_trade_no"], 10_000))
    assert _status(session, intent) == "closed"
    assert (
        _notify(client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 10_000)).status_code
        == 200
    )
    assert _status(session, intent) == "paid"
    assert _balances(session, login.member_id) == (10_000, 0)


def test_closed_or_failed_after_paid_changes_nothing(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=10_000)
    _notify(client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 10_000))
    for event in ("closed", "failed"):
        assert (
            _notify(
                client, "sandbox", SANDBOX.notification(event, intent["out_trade_no"], 10_000)
            ).status_code
            == 200
        )
    assert _status(session, intent) == "paid"
    assert _balances(session, login.member_id) == (10_000, 0)


def test_a_refund_heard_of_before_the_payment_is_refused_until_the_payment_arrives(
    client, session, member_auth
):
    _login, intent = _intent(client, member_auth, amount_fen=10_000)
    refund = SANDBOX.notification("refunded", intent["out_trade_no"], 10_000, notify_id="R-1")
    assert _notify(client, "sandbox", refund).status_code == 400
    assert (
        _notify(client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 10_000)).status_code
        == 200
    )
    assert _notify(client, "sandbox", refund).status_code == 200  # retried: processed afresh
    row = session.scalar(select(PaymentNotification).where(PaymentNotification.notify_id == "R-1"))
    assert row.outcome == "unknown_refund"


def test_a_payment_notification_for_another_amount_is_refused_and_recorded(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=10_000)
    answer = _notify(
        client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 1, notify_id="M-1")
    )
    assert answer.status_code == 400
    assert _status(session, intent) == "created"
    assert _balances(session, login.member_id) == (0, 0)
    row = session.scalar(select(PaymentNotification).where(PaymentNotification.notify_id == "M-1"))
    assert (row.outcome, row.verified) == ("amount_mismatch", True)


def test_a_forged_notification_is_refused_recorded_as_unverified_and_credits_nothing(
    client, session, member_auth
):
    login, intent = _intent(client, member_auth, amount_fen=10_000)
    headers, body = Sandbox(b"attacker").notification("paid", intent["out_trade_no"], 10_000, notify_id="F-1")
    assert client.post(notify_path("sandbox"), content=body, headers=headers).status_code == 400
    assert _balances(session, login.member_id) == (0, 0)
    assert session.scalar(select(PaymentNotification).where(PaymentNotification.notify_id == "F-1")) is None
    forged = session.scalars(select(PaymentNotification).where(PaymentNotification.outcome == "forged")).all()
    assert forged
    assert not forged[-1].verified
    # the real notification with the id the forger used still counts
    assert (
        _notify(
            client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 10_000, notify_id="F-1")
        ).status_code
        == 200
    )
    assert _balances(session, login.member_id) == (10_000, 0)


def test_wechat_notification_is_answered_204_and_a_forged_one_with_fail(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=20_000, provider="wechat")
    assert intent["checkout"]["package"] == "Sign=WXPay"
    headers, body = wechat_notification(intent["out_trade_no"], 20_000)
    forged = client.post(notify_path("wechat"), content=body.replace(b'"id"', b'"id" '), headers=headers)
    assert forged.status_code == 500
    assert forged.json()["code"] == "FAIL"
    assert client.post(notify_path("wechat"), content=body, headers=headers).status_code == 204
    assert _balances(session, login.member_id) == (20_000, 0)


def test_alipay_notification_is_answered_success_in_plain_text(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=12_345, provider="alipay")
    answer = _notify(client, "alipay", alipay_notification(intent["out_trade_no"], 12_345))
    assert answer.text == "success"
    assert _balances(session, login.member_id) == (12_345, 0)
    bad = _notify(client, "alipay", alipay_notification(intent["out_trade_no"], 12_345, key="attacker"))
    assert bad.text == "fail"


def test_unionpay_notification_credits_the_wallet(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=30_000, provider="unionpay")
    assert intent["checkout"] == {"tn": "771125150000123456789"}
    assert (
        _notify(client, "unionpay", unionpay_notification(intent["out_trade_no"], 30_000)).status_code == 200
    )
    assert _balances(session, login.member_id) == (30_000, 0)


def test_a_notification_for_a_payment_of_another_provider_is_refused(client, session, member_auth):
    login, intent = _intent(client, member_auth, amount_fen=10_000, provider="alipay")
    assert (
        _notify(client, "sandbox", SANDBOX.notification("paid", intent["out_trade_no"], 10_000)).status_code
        == 400
    )
    assert _balances(session, login.member_id) == (0, 0)
