"""WeChat Pay API v3 (微信支付 APIv3), as published at pay.weixin.qq.com/docs/merchant.

- Requests are signed with the merchant's RSA key: ``Authorization: WECHATPAY2-SHA256-RSA2048
  mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`` where the signature is
  SHA256withRSA over ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (URL = path and query).
- Answers and notifications are signed by the platform: SHA256withRSA over
  ``Wechatpay-Timestamp\\nWechatpay-Nonce\\nBODY\\n``, checked with the platform key named by
  ``Wechatpay-Serial``; a timestamp more than five minutes away is refused (replay).
- A notification's ``resource`` is AEAD_AES_256_GCM with the APIv3 key: ``ciphertext`` (base64,
  tag appended), ``nonce`` and ``associated_data``.
- The app pays with ``appid, partnerid, prepayid, package=Sign=WXPay, noncestr, timestamp, sign``,
  ``sign`` being SHA256withRSA over ``appid\\ntimestamp\\nnoncestr\\nprepayid\\n``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forecourt.kit.clock import utcnow
from forecourt.payments.providers.base import (
    Answer,
    Checkout,
    ForgedNotification,
    Notification,
    PaymentOrder,
    PaymentProvider,
    ProviderError,
    RefundOrder,
    RefundResult,
    header,
    rsa_sign,
    rsa_verify,
)

API_BASE = "https://api.mch.weixin.qq.com"
SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class WechatConfig:
    mchid: str
    appid: str
    serial_no: str
    """Serial number of the merchant's API certificate."""
    private_key: rsa.RSAPrivateKey
    apiv3_key: bytes
    """32 bytes."""
    platform_keys: Mapping[str, rsa.RSAPublicKey]
    """The platform's public keys (certificates or the 微信支付公钥) by serial."""


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> bytes:
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n".encode()


def authorization(
    config: WechatConfig, method: str, url: str, body: str, *, timestamp: str, nonce: str
) -> str:
    signature = rsa_sign(config.private_key, request_message(method, url, timestamp, nonce, body))
    return (
        f'{SCHEMA} mchid="{config.mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{config.serial_no}"'
    )


def platform_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def decrypt_resource(apiv3_key: bytes, resource: Mapping[str, Any]) -> dict[str, Any]:
    """The plaintext of an AEAD_AES_256_GCM ``resource``; ``ForgedNotification`` if it does not open."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise ForgedNotification(f"unknown algorithm {resource.get('algorithm')!r}")
    try:
        plaintext = AESGCM(apiv3_key).decrypt(
            str(resource["nonce"]).encode(),
            base64.b64decode(str(resource["ciphertext"]), validate=True),
            str(resource.get("associated_data") or "").encode() or None,
        )
        document = json.loads(plaintext)
    except (InvalidTag, KeyError, ValueError) as exc:
        raise ForgedNotification("the resource does not decrypt with the APIv3 key") from exc
    if not isinstance(document, dict):
        raise ForgedNotification("the resource is not an object")
    return document


def encrypt_resource(
    apiv3_key: bytes, document: Mapping[str, Any], *, nonce: str, associated_data: str
) -> dict[str, str]:
    """The platform's side of ``decrypt_resource`` (for the tests' recorded notifications)."""
    ciphertext = AESGCM(apiv3_key).encrypt(
        nonce.encode(), json.dumps(document, ensure_ascii=False).encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "original_type": associated_data,
        "nonce": nonce,
    }


class WechatPay(PaymentProvider):
    name = "wechat"

    def __init__(self, config: WechatConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.client = client or httpx.Client(base_url=API_BASE, timeout=10.0)

    # --- calls to the API ------------------------------------------------------------------------

    def _call(self, method: str, path: str, document: Mapping[str, Any] | None) -> dict[str, Any]:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")) if document is not None else ""
        headers = {
            "Authorization": authorization(
                self.config,
                method,
                path,
                body,
                timestamp=str(int(utcnow().timestamp())),
                nonce=secrets.token_hex(16),
            ),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = self.client.request(method, path, content=body.encode(), headers=headers)
        self.verify(response.headers, response.content)
        if response.status_code >= 300:
            raise ProviderError(f"WeChat Pay answered {response.status_code}: {response.text[:200]}")
        answer = response.json() if response.content else {}
        return answer if isinstance(answer, dict) else {}

    def create_payment(self, order: PaymentOrder) -> Checkout:
        prepay = self._call(
            "POST",
            "/v3/pay/transactions/app",
            {
                "appid": self.config.appid,
                "mchid": self.config.mchid,
                "description": order.description,
                "out_trade_no": order.out_trade_no,
                "notify_url": order.notify_url,
                "amount": {"total": order.amount_fen, "currency": "CNY"},
            },
        )
        prepay_id = str(prepay.get("prepay_id") or "")
        if not prepay_id:
            raise ProviderError("WeChat Pay gave no prepay_id")
        timestamp, nonce = str(int(utcnow().timestamp())), secrets.token_hex(16)
        sign = rsa_sign(
            self.config.private_key, f"{self.config.appid}\n{timestamp}\n{nonce}\n{prepay_id}\n".encode()
        )
        return Checkout(
            {
                "appid": self.config.appid,
                "partnerid": self.config.mchid,
                "prepayid": prepay_id,
                "package": "Sign=WXPay",
                "noncestr": nonce,
                "timestamp": timestamp,
                "sign": sign,
            }
        )

    def refund(self, order: RefundOrder) -> RefundResult:
        answer = self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": order.out_trade_no,
                "out_refund_no": order.out_refund_no,
                "reason": order.reason[:80],
                "notify_url": order.notify_url,
                "amount": {"refund": order.refund_fen, "total": order.total_fen, "currency": "CNY"},
            },
        )
        status = answer.get("status")
        refund_id = answer.get("refund_id")
        if status == "SUCCESS":
            return RefundResult("succeeded", refund_id)
        if status == "CLOSED":
            return RefundResult("failed", refund_id)
        # PROCESSING, or ABNORMAL (the member's account cannot take it; finance settles it by hand):
        # the money may still leave, so it is not given back to the wallet.
        return RefundResult("requested", refund_id)

    # --- what the platform sends -----------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> None:
        """The platform's signature over an answer or a notification; ``ForgedNotification`` if not."""
        timestamp = header(headers, "Wechatpay-Timestamp")
        nonce = header(headers, "Wechatpay-Nonce")
        signature = header(headers, "Wechatpay-Signature")
        serial = header(headers, "Wechatpay-Serial")
        key = self.config.platform_keys.get(serial)
        if key is None:
            raise ForgedNotification(f"unknown platform key serial {serial!r}")
        try:
            moment = int(timestamp)
        except ValueError as exc:
            raise ForgedNotification("Wechatpay-Timestamp is not a number") from exc
        if abs((now or utcnow()).timestamp() - moment) > MAX_SKEW_SECONDS:
            raise ForgedNotification("Wechatpay-Timestamp is too far from now (a replay?)")
        if not rsa_verify(key, platform_message(timestamp, nonce, body), signature):
            raise ForgedNotification("the platform signature does not verify")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        self.verify(headers, body)
        try:
            envelope = json.loads(body)
            event_type = str(envelope["event_type"])
            notify_id = str(envelope["id"])
            resource = envelope["resource"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ForgedNotification("not a WeChat Pay notification") from exc
        document = decrypt_resource(self.config.apiv3_key, resource)
        if document.get("mchid") != self.config.mchid:
            raise ForgedNotification("the notification is for another merchant")
        amount = document.get("amount") or {}
        if amount.get("currency", "CNY") != "CNY" or amount.get("payer_currency", "CNY") != "CNY":
            raise ForgedNotification("the notification is not in CNY")
        stored = {"event_type": event_type, "id": notify_id, "resource": document}
        if event_type.startswith("REFUND."):
            return Notification(
                notify_id=notify_id,
                # ABNORMAL (the member's account cannot take it) is finance's to settle by hand:
                # only CLOSED means the money stays with us.
                event={"SUCCESS": "refunded", "CLOSED": "refund_failed"}.get(
                    str(document.get("refund_status")), "pending"
                ),  # type: ignore[arg-type]
                out_trade_no=document.get("out_trade_no"),
                amount_fen=_int_or_none(amount.get("refund")),
                provider_txn_id=document.get("transaction_id"),
                out_refund_no=document.get("out_refund_no"),
                document=stored,
            )
        if document.get("appid") != self.config.appid:
            raise ForgedNotification("the notification is for another app")
        state = document.get("trade_state")
        event = {"SUCCESS": "paid", "CLOSED": "closed", "PAYERROR": "failed", "REVOKED": "closed"}.get(
            str(state), "pending"
        )
        return Notification(
            notify_id=notify_id,
            event=event,  # type: ignore[arg-type]
            out_trade_no=document.get("out_trade_no"),
            amount_fen=_int_or_none(amount.get("total")),
            provider_txn_id=document.get("transaction_id"),
            document=stored,
        )

    def answer(self, accepted: bool) -> Answer:
        if accepted:
            return Answer(204, b"", "application/json")
        return Answer(
            500,
            json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode(),
            "application/json",
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
