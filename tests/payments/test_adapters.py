"""Each adapter signs as its provider publishes, and accepts only notifications the provider signed."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qsl

import pytest

from forecourt.kit.clock import utcnow
from forecourt.payments.providers import alipay, unionpay, wechat
from forecourt.payments.providers.base import ForgedNotification, PaymentOrder, RefundOrder, rsa_verify
from forecourt.payments.providers.sandbox import Sandbox
from tests.payments.support import (
    ALIPAY_APP_ID,
    APIV3_KEY,
    alipay_notification,
    alipay_provider,
    platform_headers,
    rsa_key,
    unionpay_notification,
    unionpay_provider,
    wechat_notification,
    wechat_provider,
)

ORDER = PaymentOrder("FC0123456789abcdef0123456789abcd", 50_000, "会员钱包充值", "https://x.example/notify")


def _refund_order(**overrides: object) -> RefundOrder:
    values: dict[str, object] = {
        "out_trade_no": ORDER.out_trade_no,
        "provider_txn_id": "4200000000000000000000000001",
        "out_refund_no": "RF0123",
        "refund_fen": 10_000,
        "total_fen": 50_000,
        "reason": "会员申请退款",
        "notify_url": "https://x.example/notify",
    }
    values.update(overrides)
    return RefundOrder(**values)  # type: ignore[arg-type]


# --- WeChat Pay API v3 -----------------------------------------------------------------------------


def test_wechat_request_carries_an_authorization_the_merchant_key_signed():
    provider, recorder = wechat_provider()
    checkout = provider.create_payment(ORDER)
    request = recorder.requests[0]
    scheme, _, fields_text = request.headers["Authorization"].partition(" ")
    fields = dict(part.split("=", 1) for part in fields_text.split(","))
    fields = {key: value.strip('"') for key, value in fields.items()}
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    assert fields["mchid"] == "1900000109"
    message = wechat.request_message(
        "POST", "/v3/pay/transactions/app", fields["timestamp"], fields["nonce_str"], request.content.decode()
    )
    assert rsa_verify(rsa_key("wechat-merchant").public_key(), message, fields["signature"])
    sent = json.loads(request.content)
    assert sent["amount"] == {"total": 50_000, "currency": "CNY"}
    assert sent["out_trade_no"] == ORDER.out_trade_no
    params = checkout.params
    app_message = (
        f"{params['appid']}\n{params['timestamp']}\n{params['noncestr']}\n{params['prepayid']}\n".encode()
    )
    assert rsa_verify(rsa_key("wechat-merchant").public_key(), app_message, params["sign"])


def test_wechat_notification_verifies_and_decrypts_to_a_payment():
    provider, _ = wechat_provider()
    headers, body = wechat_notification(ORDER.out_trade_no, 50_000, notify_id="EV-018")
    note = provider.parse_notification(headers, body)
    assert (note.notify_id, note.event, note.out_trade_no, note.amount_fen) == (
        "EV-018",
        "paid",
        ORDER.out_trade_no,
        50_000,
    )
    assert note.provider_txn_id == "4200000000000000000000000001"


def test_wechat_refund_notification_names_the_refund():
    provider, _ = wechat_provider()
    headers, body = wechat_notification(
        ORDER.out_trade_no, 10_000, event_type="REFUND.SUCCESS", out_refund_no="RF1"
    )
    note = provider.parse_notification(headers, body)
    assert (note.event, note.out_refund_no, note.amount_fen) == ("refunded", "RF1", 10_000)


@pytest.mark.parametrize(
    "resource",
    [
        {"mchid": "1900009999"},
        {"mchid": None},
        {"appid": "wx-another-app"},
        {"amount": {"total": 1, "currency": "USD"}},
    ],
    ids=["another merchant", "no merchant", "another app", "not CNY"],
)
def test_wechat_payment_notification_for_another_merchant_app_or_currency_is_rejected(
    resource: dict[str, object],
) -> None:
    provider, _ = wechat_provider()
    headers, body = wechat_notification(ORDER.out_trade_no, 50_000, **resource)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body)


def test_a_wechat_refund_gone_abnormal_is_not_taken_for_failed():
    """ABNORMAL: the member's account cannot take the money; finance settles it by hand, so the wallet
    must not be credited back as if the refund had closed."""
    provider, _ = wechat_provider()
    headers, body = wechat_notification(
        ORDER.out_trade_no,
        10_000,
        event_type="REFUND.ABNORMAL",
        out_refund_no="RF2",
        refund_status="ABNORMAL",
    )
    assert provider.parse_notification(headers, body).event == "pending"


def test_wechat_notification_with_a_tampered_body_is_rejected():
    provider, _ = wechat_provider()
    headers, body = wechat_notification(ORDER.out_trade_no, 50_000)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCES "))


def test_wechat_notification_signed_by_another_key_is_rejected():
    provider, _ = wechat_provider()
    _, body = wechat_notification(ORDER.out_trade_no, 50_000)
    with pytest.raises(ForgedNotification, match="does not verify"):
        provider.parse_notification(platform_headers(body, key="attacker"), body)


def test_wechat_notification_naming_an_unknown_platform_serial_is_rejected():
    provider, _ = wechat_provider()
    _, body = wechat_notification(ORDER.out_trade_no, 50_000)
    with pytest.raises(ForgedNotification, match="serial"):
        provider.parse_notification(platform_headers(body, serial="UNKNOWN"), body)


def test_wechat_notification_replayed_after_five_minutes_is_rejected():
    provider, _ = wechat_provider()
    _, body = wechat_notification(ORDER.out_trade_no, 50_000)
    stale = int(utcnow().timestamp()) - 301
    with pytest.raises(ForgedNotification, match="too far"):
        provider.parse_notification(platform_headers(body, timestamp=stale), body)


def test_wechat_resource_that_does_not_decrypt_with_the_apiv3_key_is_rejected():
    provider, _ = wechat_provider()
    _, body = wechat_notification(ORDER.out_trade_no, 50_000)
    envelope = json.loads(body)
    ciphertext = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    ciphertext[0] ^= 1
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    tampered = json.dumps(envelope).encode()  # re-signed by the platform key: only the GCM tag catches it
    with pytest.raises(ForgedNotification, match="decrypt"):
        provider.parse_notification(platform_headers(tampered), tampered)
    assert wechat.decrypt_resource(APIV3_KEY, json.loads(body)["resource"])["amount"]["total"] == 50_000


def test_wechat_refund_request_is_signed_and_reports_processing_as_requested():
    provider, recorder = wechat_provider(
        {"/v3/refund/domestic/refunds": {"refund_id": "5000", "status": "PROCESSING"}}
    )
    result = provider.refund(_refund_order())
    assert result.status == "requested"
    sent = json.loads(recorder.requests[0].content)
    assert sent["amount"] == {"refund": 10_000, "total": 50_000, "currency": "CNY"}
    assert sent["out_refund_no"] == "RF0123"


# --- Alipay RSA2 -----------------------------------------------------------------------------------


def test_alipay_order_string_is_rsa2_signed_over_the_sorted_parameters():
    provider, _ = alipay_provider()
    params = dict(parse_qsl(provider.create_payment(ORDER).params["order_string"]))
    assert params["method"] == "alipay.trade.app.pay"
    assert json.loads(params["biz_content"])["total_amount"] == "500.00"
    assert rsa_verify(rsa_key("alipay-merchant").public_key(), alipay.sign_content(params), params["sign"])


def test_alipay_notification_verifies_to_a_payment_in_fen():
    provider, _ = alipay_provider()
    headers, body = alipay_notification(ORDER.out_trade_no, 50_001, notify_id="N1")
    note = provider.parse_notification(headers, body)
    assert (note.notify_id, note.event, note.amount_fen) == ("N1", "paid", 50_001)
    assert note.document["app_id"] == ALIPAY_APP_ID


def test_alipay_notification_with_a_changed_amount_is_rejected():
    provider, _ = alipay_provider()
    headers, body = alipay_notification(ORDER.out_trade_no, 50_000)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body.replace(b"total_amount=500.00", b"total_amount=5000.00"))


def test_alipay_notification_signed_by_another_key_is_rejected():
    provider, _ = alipay_provider()
    headers, body = alipay_notification(ORDER.out_trade_no, 50_000, key="attacker")
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body)


def test_alipay_closed_trade_with_a_refund_is_a_refund_and_without_is_a_close():
    provider, _ = alipay_provider()
    _, refunded = alipay_notification(
        ORDER.out_trade_no,
        50_000,
        trade_status="TRADE_CLOSED",
        refund_fee="500.00",
        out_biz_no="RF9",
        gmt_refund="2026-11-25 16:00:00",
    )
    _, closed = alipay_notification(ORDER.out_trade_no, 50_000, trade_status="TRADE_CLOSED")
    assert provider.parse_notification({}, refunded).event == "refunded"
    assert provider.parse_notification({}, refunded).out_refund_no == "RF9"
    assert provider.parse_notification({}, closed).event == "closed"


def test_alipay_refund_answer_is_verified():
    provider, recorder = alipay_provider()
    assert provider.refund(_refund_order()).status == "succeeded"
    sent = dict(parse_qsl(recorder.requests[0].content.decode()))
    assert sent["method"] == "alipay.trade.refund"
    assert json.loads(sent["biz_content"])["refund_amount"] == "100.00"


# --- UnionPay --------------------------------------------------------------------------------------


def test_unionpay_signature_is_rsa_over_the_sha256_hex_of_the_sorted_fields():
    params = {"b": "2", "a": "1", "signature": "ignored"}
    assert unionpay.digest(params) == hashlib.sha256(b"a=1&b=2").hexdigest().encode()
    signed = unionpay.sign_params(rsa_key("unionpay-merchant"), {"b": "2", "a": "1"})
    assert rsa_verify(
        rsa_key("unionpay-merchant").public_key(), unionpay.digest({"a": "1", "b": "2"}), signed["signature"]
    )


def test_unionpay_app_payment_gets_a_verified_tn():
    provider, recorder = unionpay_provider()
    assert provider.create_payment(ORDER).params == {"tn": "771125150000123456789"}
    sent = dict(parse_qsl(recorder.requests[0].content.decode()))
    assert unionpay.verify_params(rsa_key("unionpay-merchant").public_key(), sent)
    assert sent["txnAmt"] == "50000"


def test_unionpay_notification_verifies_and_a_tampered_one_is_rejected():
    provider, _ = unionpay_provider()
    headers, body = unionpay_notification(ORDER.out_trade_no, 50_000, query_id="Q1")
    note = provider.parse_notification(headers, body)
    assert (note.notify_id, note.event, note.amount_fen) == ("01:Q1", "paid", 50_000)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body.replace(b"txnAmt=50000", b"txnAmt=50001"))


# --- sandbox ---------------------------------------------------------------------------------------


def test_sandbox_notification_with_a_wrong_hmac_is_rejected():
    sandbox = Sandbox(b"secret")
    headers, body = sandbox.simulate_payment(ORDER.out_trade_no, 100)
    assert sandbox.parse_notification(headers, body).event == "paid"
    with pytest.raises(ForgedNotification):
        Sandbox(b"other").parse_notification(headers, body)
    with pytest.raises(ForgedNotification):
        sandbox.parse_notification(headers, body.replace(b'"amount_fen":100', b'"amount_fen":900'))
