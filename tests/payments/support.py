"""Payment test helpers: generated keys, adapters configured with them, and the provider's side of
each protocol (the platform signing its notifications and answers), written from the published
field names so that the recorded messages look like the real ones."""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from forecourt.kit.clock import utcnow
from forecourt.payments.config import Payments
from forecourt.payments.providers import alipay, unionpay, wechat
from forecourt.payments.providers.base import fen_to_yuan, rsa_sign
from forecourt.payments.providers.sandbox import Sandbox
from tests.members.support import MemberLogin

TOP_UP_INTENTS = "/api/v1/me/wallet/top-up-intents"
STEP_UP = "/api/v1/me/devices/step-up"
VERIFY_DEVICE = "/api/v1/me/devices/verify"
INTENTS = "/api/v1/payments/intents"


def notify_path(provider: str) -> str:
    return f"/api/v1/payments/notify/{provider}"


@functools.lru_cache(maxsize=8)
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key generated once per run for each role (merchant, platform, …)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


APIV3_KEY = b"0123456789abcdefABCDEF0123456789"
PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
WECHAT_MCHID = "1900000109"
ALIPAY_APP_ID = "2021000000000001"
UNIONPAY_MER_ID = "777290058110048"


def platform_headers(
    body: bytes, *, key: str = "wechat-platform", serial: str = PLATFORM_SERIAL, timestamp: int | None = None
) -> dict[str, str]:
    """Headers as WeChat Pay's platform signs an answer or a notification."""
    moment = str(timestamp if timestamp is not None else int(utcnow().timestamp()))
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": moment,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(rsa_key(key), wechat.platform_message(moment, nonce, body)),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }


def wechat_notification(
    out_trade_no: str,
    amount_fen: int,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    notify_id: str | None = None,
    **resource: Any,
) -> tuple[dict[str, str], bytes]:
    """A payment (or refund) notification as WeChat Pay sends it: encrypted resource, signed."""
    if event_type.startswith("REFUND."):
        document: dict[str, Any] = {
            "mchid": WECHAT_MCHID,
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000000000000000000001",
            "refund_id": "50000000000000000000000000001",
            "refund_status": "SUCCESS",
            "amount": {
                "total": amount_fen,
                "refund": amount_fen,
                "payer_total": amount_fen,
                "payer_refund": amount_fen,
            },
            **resource,
        }
        kind = "refund"
    else:
        document = {
            "mchid": WECHAT_MCHID,
            "appid": "wxd678efh567hg6787",
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000000000000000000001",
            "trade_type": "APP",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "success_time": "2026-11-25T15:00:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": amount_fen,
                "payer_total": amount_fen,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
            **resource,
        }
        kind = "transaction"
    envelope = {
        "id": notify_id or f"EV-{secrets.token_hex(8)}",
        "create_time": "2026-11-25T15:00:01+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": wechat.encrypt_resource(
            APIV3_KEY, document, nonce=secrets.token_hex(6), associated_data=kind
        ),
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return platform_headers(body), body


def alipay_notification(
    out_trade_no: str,
    amount_fen: int,
    *,
    notify_id: str | None = None,
    key: str = "alipay-platform",
    **fields: str,
) -> tuple[dict[str, str], bytes]:
    """An asynchronous notification as Alipay posts it (form-encoded, RSA2-signed)."""
    params = {
        "notify_time": "2026-11-25 15:00:01",
        "notify_type": "trade_status_sync",
        "notify_id": notify_id or f"ac05099524730693a8b330c5ecf72da{secrets.token_hex(4)}",
        "app_id": ALIPAY_APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026112522001400000000000001",
        "out_trade_no": out_trade_no,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": fen_to_yuan(amount_fen),
        "receipt_amount": fen_to_yuan(amount_fen),
        "buyer_id": "2088102122524333",
        "gmt_payment": "2026-11-25 15:00:00",
        "subject": "会员钱包充值",
        **fields,
    }
    params["sign"] = rsa_sign(rsa_key(key), alipay.sign_content(params, drop=("sign", "sign_type")))
    params["sign_type"] = "RSA2"
    return {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(params).encode()


def unionpay_notification(
    order_id: str, amount_fen: int, *, txn_type: str = "01", query_id: str | None = None, **fields: str
) -> tuple[dict[str, str], bytes]:
    params = {
        "version": "5.1.0",
        "encoding": "UTF-8",
        "signMethod": "01",
        "certId": "69629715588",
        "txnType": txn_type,
        "txnSubType": "01",
        "bizType": "000201",
        "accessType": "0",
        "merId": UNIONPAY_MER_ID,
        "orderId": order_id,
        "txnTime": "20261125150000",
        "txnAmt": str(amount_fen),
        "currencyCode": "156",
        "queryId": query_id or f"7411251500{secrets.token_hex(5)}",
        "respCode": "00",
        "respMsg": "Success!",
        "settleAmt": str(amount_fen),
        **fields,
    }
    signed = unionpay.sign_params(rsa_key("unionpay-platform"), params)
    return {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(signed).encode()


@dataclass
class Recorder:
    """The requests an adapter sent (through ``httpx.MockTransport``)."""

    requests: list[httpx.Request]


def wechat_provider(answers: dict[str, dict[str, Any]] | None = None) -> tuple[wechat.WechatPay, Recorder]:
    recorder = Recorder([])

    def handle(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        document = (answers or {}).get(
            request.url.path, {"prepay_id": "wx201410272009395522657a690389285100"}
        )
        body = json.dumps(document).encode()
        return httpx.Response(200, content=body, headers=platform_headers(body))

    config = wechat.WechatConfig(
        mchid=WECHAT_MCHID,
        appid="wxd678efh567hg6787",
        serial_no="444F4864EA9B34415...",
        private_key=rsa_key("wechat-merchant"),
        apiv3_key=APIV3_KEY,
        platform_keys={PLATFORM_SERIAL: rsa_key("wechat-platform").public_key()},
    )
    client = httpx.Client(base_url=wechat.API_BASE, transport=httpx.MockTransport(handle))
    return wechat.WechatPay(config, client), recorder


def alipay_provider() -> tuple[alipay.Alipay, Recorder]:
    recorder = Recorder([])

    def handle(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        node = json.dumps(
            {
                "code": "10000",
                "msg": "Success",
                "trade_no": "2026112522001400000000000001",
                "fund_change": "Y",
            },
            separators=(",", ":"),
        )
        sign = rsa_sign(rsa_key("alipay-platform"), node.encode())
        return httpx.Response(200, text=f'{{"alipay_trade_refund_response":{node},"sign":"{sign}"}}')

    config = alipay.AlipayConfig(
        ALIPAY_APP_ID, rsa_key("alipay-merchant"), rsa_key("alipay-platform").public_key()
    )
    return alipay.Alipay(config, httpx.Client(transport=httpx.MockTransport(handle))), recorder


def unionpay_provider() -> tuple[unionpay.UnionPay, Recorder]:
    recorder = Recorder([])

    def handle(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        answer = unionpay.sign_params(
            rsa_key("unionpay-platform"),
            {"respCode": "00", "respMsg": "成功", "merId": UNIONPAY_MER_ID, "tn": "771125150000123456789"},
        )
        return httpx.Response(200, text=urlencode(answer))

    config = unionpay.UnionPayConfig(
        UNIONPAY_MER_ID,
        "69629715588",
        rsa_key("unionpay-merchant"),
        rsa_key("unionpay-platform").public_key(),
    )
    return unionpay.UnionPay(config, httpx.Client(transport=httpx.MockTransport(handle))), recorder


SANDBOX_SECRET = b"test-sandbox-secret"


def all_providers() -> Payments:
    return Payments(
        providers={
            "sandbox": Sandbox(SANDBOX_SECRET),
            "wechat": wechat_provider()[0],
            "alipay": alipay_provider()[0],
            "unionpay": unionpay_provider()[0],
        },
        notify_base_url="https://forecourt.example.com",
    )


@dataclass(frozen=True)
class DeviceLogin(MemberLogin):
    """A signed-in member using the member app on ``device_id`` (sent as ``X-Device-Id``)."""

    device_id: str = "test-device"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "X-Device-Id": self.device_id}
