"""Alipay (支付宝开放平台), RSA2 as published at opendocs.alipay.com.

- Signing: every parameter but ``sign`` with a non-empty value, sorted by name, joined as
  ``k=v&k=v`` (UTF-8, values not URL-encoded), signed SHA256withRSA with the app's private key,
  base64 in ``sign`` (``sign_type=RSA2``).
- Asynchronous notifications (form POST): drop ``sign`` and ``sign_type``, sort and join the rest
  the same way and verify ``sign`` with Alipay's public key; the ``app_id`` must be ours. We answer
  the plain text ``success`` (anything else makes Alipay retry).
- The app pays with the signed order string of ``alipay.trade.app.pay``; refunds are
  ``alipay.trade.refund`` through the gateway, whose answer is signed over the raw JSON text of its
  ``alipay_trade_refund_response`` node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from forecourt.kit.clock import chain_zone, utcnow
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
    fen_to_yuan,
    rsa_sign,
    rsa_verify,
    yuan_to_fen,
)

GATEWAY = "https://openapi.alipay.com/gateway.do"


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey


def sign_content(params: Mapping[str, str], *, drop: tuple[str, ...] = ("sign",)) -> bytes:
    """The string Alipay signs: non-empty parameters but ``drop``, sorted, ``k=v`` joined by ``&``."""
    pairs = sorted((key, value) for key, value in params.items() if key not in drop and value != "")
    return "&".join(f"{key}={value}" for key, value in pairs).encode()


def sign_params(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    return {**params, "sign": rsa_sign(private_key, sign_content(params))}


def verify_notification_params(public_key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    signature = params.get("sign")
    if not signature or params.get("sign_type", "RSA2") != "RSA2":
        return False
    return rsa_verify(public_key, sign_content(params, drop=("sign", "sign_type")), signature)


class Alipay(PaymentProvider):
    name = "alipay"

    def __init__(self, config: AlipayConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.client = client or httpx.Client(timeout=10.0)

    def _common(self, method: str, biz: Mapping[str, Any], notify_url: str | None = None) -> dict[str, str]:
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": utcnow().astimezone(chain_zone()).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify_url:
            params["notify_url"] = notify_url
        return sign_params(self.config.private_key, params)

    def create_payment(self, order: PaymentOrder) -> Checkout:
        params = self._common(
            "alipay.trade.app.pay",
            {
                "out_trade_no": order.out_trade_no,
                "total_amount": fen_to_yuan(order.amount_fen),
                "subject": order.description,
                "product_code": "QUICK_MSECURITY_PAY",
            },
            order.notify_url,
        )
        return Checkout({"order_string": urlencode(params)})

    def refund(self, order: RefundOrder) -> RefundResult:
        params = self._common(
            "alipay.trade.refund",
            {
                "out_trade_no": order.out_trade_no,
                "refund_amount": fen_to_yuan(order.refund_fen),
                "out_request_no": order.out_refund_no,
                "refund_reason": order.reason[:256],
            },
        )
        response = self.client.post(GATEWAY, data=params)
        node = self.verified_node(response.text, "alipay_trade_refund_response")
        if node.get("code") != "10000":
            raise ProviderError(f"Alipay refused the refund: {node.get('sub_msg') or node.get('msg')}")
        return RefundResult(
            "succeeded" if node.get("fund_change") == "Y" else "requested", node.get("trade_no")
        )

    def verified_node(self, text: str, name: str) -> dict[str, Any]:
        """The answer's ``name`` node, its signature (over the node's raw JSON text) verified."""
        try:
            document = json.loads(text)
            marker = f'"{name}":'
            start = text.index(marker) + len(marker)
            end = text.rindex(',"sign"')
            signature = str(document["sign"])
            node = document[name]
        except (KeyError, ValueError) as exc:
            raise ProviderError("Alipay's answer is not signed") from exc
        if not rsa_verify(self.config.alipay_public_key, text[start:end].encode(), signature):
            raise ProviderError("Alipay's answer does not verify")
        return node if isinstance(node, dict) else {}

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ForgedNotification("not a form-encoded notification") from exc
        if not verify_notification_params(self.config.alipay_public_key, params):
            raise ForgedNotification("the RSA2 signature does not verify with Alipay's public key")
        if params.get("app_id") != self.config.app_id:
            raise ForgedNotification("the notification is for another app")
        status = params.get("trade_status", "")
        refunded = bool(params.get("out_biz_no") or params.get("gmt_refund"))
        stored = {key: value for key, value in params.items() if key not in ("sign", "sign_type")}
        common: dict[str, Any] = {
            "notify_id": params.get("notify_id", ""),
            "out_trade_no": params.get("out_trade_no"),
            "provider_txn_id": params.get("trade_no"),
            "document": stored,
        }
        if not common["notify_id"]:
            raise ForgedNotification("the notification has no notify_id")
        if refunded and status in ("TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED"):
            return Notification(
                event="refunded",
                amount_fen=yuan_to_fen(params["refund_fee"]) if params.get("refund_fee") else None,
                out_refund_no=params.get("out_biz_no"),
                **common,
            )
        event = {"TRADE_SUCCESS": "paid", "TRADE_FINISHED": "paid", "TRADE_CLOSED": "closed"}.get(
            status, "pending"
        )
        return Notification(
            event=event,  # type: ignore[arg-type]
            amount_fen=yuan_to_fen(params["total_amount"]) if params.get("total_amount") else None,
            **common,
        )

    def answer(self, accepted: bool) -> Answer:
        return Answer(200, b"success" if accepted else b"fail", "text/plain")
