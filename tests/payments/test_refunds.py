"""Refunds of top-ups back through the provider (W4), and the staff's list of payments."""

from __future__ import annotations

import uuid

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import WalletSplit
from tests.payments.support import INTENTS, SANDBOX_SECRET, TOP_UP_INTENTS, notify_path


def _paid_top_up(client, member_auth, amount_fen=50_000):
    login = member_auth()
    intent = client.post(
        TOP_UP_INTENTS, json={"amount_fen": amount_fen, "provider": "sandbox"}, headers=login.headers
    ).json()
    assert (
        client.post(f"{TOP_UP_INTENTS}/{intent['id']}/sandbox-pay", headers=login.headers).status_code == 202
    )
    return login, intent


def _refund(client, finance, intent, key, **body):
    headers = {**finance.headers, "Idempotency-Key": key}
    return client.post(
        f"{INTENTS}/{intent['id']}/refund", json={"reason": "会员申请", **body}, headers=headers
    )


def _balances(session, member_id):
    purse = wallet.balances(session, uuid.UUID(str(member_id)))
    return purse.principal_fen, purse.bonus_fen


def test_full_refund_of_an_unspent_top_up_takes_back_principal_and_bonus(client, session, member_auth, staff):
    login, intent = _paid_top_up(client, member_auth)
    finance = staff("finance")
    response = _refund(client, finance, intent, "k1")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded"
    assert response.json()["amount_fen"] == 50_000
    assert _balances(session, login.member_id) == (0, 0)
    listed = client.get(INTENTS, params={"member_id": login.member_id}, headers=finance.headers).json()[
        "items"
    ]
    assert [(row["status"], row["refunded_fen"]) for row in listed] == [("refunded", 50_000)]


def test_the_same_refund_request_replayed_refunds_once(client, session, member_auth, staff):
    login, intent = _paid_top_up(client, member_auth)
    finance = staff("finance")
    first = _refund(client, finance, intent, "same", amount_fen=10_000)
    second = _refund(client, finance, intent, "same", amount_fen=10_000)
    assert second.json() == first.json()
    assert _balances(session, login.member_id) == (40_000, 4_000)


def test_partial_refunds_take_back_the_bonus_in_proportion(client, session, member_auth, staff):
    login, intent = _paid_top_up(client, member_auth)  # 500 yuan + 50 bonus
    finance = staff("finance")
    assert _refund(client, finance, intent, "a", amount_fen=12_345).status_code == 201
    assert _balances(session, login.member_id) == (50_000 - 12_345, 5_000 - 1_234)  # floor(5000*12345/50000)
    assert _refund(client, finance, intent, "b").status_code == 201  # the rest
    assert _balances(session, login.member_id) == (0, 0)
    assert _refund(client, finance, intent, "c").json()["error"]["code"] == "invalid_payment_amount"


def test_a_top_up_the_member_has_spent_cannot_be_refunded(client, session, member_auth, staff, signer):
    login, intent = _paid_top_up(client, member_auth, amount_fen=10_000)
    wallet.pay_for_sale(
        session,
        signer,
        SYSTEM,
        uuid.UUID(login.member_id),
        WalletSplit(6_000, 0),
        sale_id=uuid.uuid4(),
        occurred_at=utcnow(),
        station="S001",
    )
    session.flush()
    response = _refund(client, staff("finance"), intent, "k")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "top_up_already_spent"
    assert _balances(session, login.member_id) == (4_000, 0)
    assert _refund(client, staff("finance"), intent, "k2", amount_fen=4_000).status_code == 201


def test_bonus_already_spent_is_kept_from_the_money_refunded(client, session, member_auth, staff, signer):
    login, intent = _paid_top_up(client, member_auth)
    wallet.pay_for_sale(
        session,
        signer,
        SYSTEM,
        uuid.UUID(login.member_id),
        WalletSplit(0, 4_000),
        sale_id=uuid.uuid4(),
        occurred_at=utcnow(),
        station="S001",
    )
    session.flush()
    refunded = _refund(client, staff("finance"), intent, "k")
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["amount_fen"] == 50_000 - 4_000, "¥40 of bonus was spent: ¥460 goes back"
    assert _balances(session, login.member_id) == (0, 0)


def test_an_unpaid_intent_cannot_be_refunded_and_cashiers_may_not_refund(client, member_auth, staff):
    login = member_auth()
    intent = client.post(
        TOP_UP_INTENTS, json={"amount_fen": 100, "provider": "sandbox"}, headers=login.headers
    ).json()
    assert _refund(client, staff("finance"), intent, "k").json()["error"]["code"] == "payment_not_refundable"


def test_a_refund_the_provider_gives_no_clear_answer_to_stays_requested_and_the_money_out(
    client, session, member_auth, staff, payments, monkeypatch
):
    """A timeout or system error: the provider may still pay it out, so the wallet is not credited
    back until the refund's notification (or finance) settles it."""
    from forecourt.payments.providers.base import ProviderError

    login, intent = _paid_top_up(client, member_auth)

    def no_answer(order):
        raise ProviderError("SYSTEM_ERROR")

    monkeypatch.setattr(payments.providers["sandbox"], "refund", no_answer)
    refund = _refund(client, staff("finance"), intent, "k")
    assert refund.status_code == 201, refund.text
    assert refund.json()["status"] == "requested"
    assert _balances(session, login.member_id) == (0, 0)


def test_a_refund_the_provider_reports_failed_puts_the_money_back(
    client, session, member_auth, staff, payments, monkeypatch
):
    from forecourt.payments.providers.base import RefundResult

    login, intent = _paid_top_up(client, member_auth)
    sandbox = payments.providers["sandbox"]
    monkeypatch.setattr(sandbox, "refund", lambda order: RefundResult("requested"))
    refund = _refund(client, staff("finance"), intent, "k").json()
    assert refund["status"] == "requested"
    assert _balances(session, login.member_id) == (0, 0)
    headers, body = Sandbox(SANDBOX_SECRET).notification(
        "refund_failed", intent["out_trade_no"], 50_000, out_refund_no=refund["out_refund_no"]
    )
    assert client.post(notify_path("sandbox"), content=body, headers=headers).status_code == 200
    assert _balances(session, login.member_id) == (50_000, 5_000)
