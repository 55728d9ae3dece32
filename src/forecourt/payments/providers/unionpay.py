"""UnionPay online payments (银联全渠道, gateway 5.1.0, ``signMethod=01``), kept modest.

Signing, as published: every field but ``signature`` sorted by name and joined as ``k=v&k=v``; the
SHA-256 of that string as lowercase hex; that hex string signed SHA256withRSA with the merchant's
key, base64 in ``signature``. Notifications (form POST) and answers are verified the same way with
UnionPay's public key. We answer a notification with HTTP 200 (anything else makes UnionPay retry).
The app pays with the ``tn`` (transaction number) of an app transaction request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

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
    rsa_sign,
    rsa_verify,
)

GATEWAY = "https://gateway.95516.com/gateway/api"


@dataclass(frozen=True)
class UnionPayConfig:
    mer_id: str
    cert_id: str
    private_key: rsa.RSAPrivateKey
    unionpay_public_key: rsa.RSAPublicKey


def digest(params: Mapping[str, str]) -> bytes:
    """The lowercase hex SHA-256 of the sorted ``k=v&…`` string of every field but ``signature``."""
    text = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "signature")
    return hashlib.sha256(text.encode()).hexdigest().encode()


def sign_params(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    return {**params, "signature": rsa_sign(private_key, digest(params))}


def verify_params(public_key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    signature = params.get("signature")
    return bool(signature) and rsa_verify(public_key, digest(params), str(signature))


class UnionPay(PaymentProvider):
    name = "unionpay"

    def __init__(self, config: UnionPayConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.client = client or httpx.Client(timeout=10.0)

    def _request(self, path: str, fields: Mapping[str, str]) -> dict[str, str]:
        params = sign_params(
            self.config.private_key,
            {
                "version": "5.1.0",
                "encoding": "UTF-8",
                "signMethod": "01",
                "certId": self.config.cert_id,
                "merId": self.config.mer_id,
                "accessType": "0",
                "currencyCode": "156",
                "txnTime": utcnow().astimezone(chain_zone()).strftime("%Y%m%d%H%M%S"),
                **fields,
            },
        )
        response = self.client.post(f"{GATEWAY}/{path}", data=params)
        answer = dict(parse_qsl(response.text, keep_blank_values=True))
        if not verify_params(self.config.unionpay_public_key, answer):
            raise ProviderError("UnionPay's answer does not verify")
        if answer.get("respCode") != "00":
            raise ProviderError(f"UnionPay refused: {answer.get('respCode')} {answer.get('respMsg')}")
        return answer

    def create_payment(self, order: PaymentOrder) -> Checkout:
        answer = self._request(
            "appTransReq.do",
            {
                "txnType": "01",
                "txnSubType": "01",
                "bizType": "000201",
                "channelType": "08",
                "orderId": order.out_trade_no,
                "txnAmt": str(order.amount_fen),
                "backUrl": order.notify_url,
            },
        )
        return Checkout({"tn": answer.get("tn", "")})

    def refund(self, order: RefundOrder) -> RefundResult:
        self._request(
            "backTransReq.do",
            {
                "txnType": "04",
                "txnSubType": "00",
                "bizType": "000201",
                "channelType": "07",
                "orderId": order.out_refund_no,
                "origQryId": order.provider_txn_id or "",
                "txnAmt": str(order.refund_fen),
                "backUrl": order.notify_url,
                "reqReserved": order.out_trade_no,
                "nonce": secrets.token_hex(4),
            },
        )
        return RefundResult("requested")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ForgedNotification("not a form-encoded notification") from exc
        if not verify_params(self.config.unionpay_public_key, params):
            raise ForgedNotification("the signature does not verify with UnionPay's public key")
        if params.get("merId") != self.config.mer_id:
            raise ForgedNotification("the notification is for another merchant")
        txn_type, query_id = params.get("txnType", ""), params.get("queryId", "")
        if not query_id:
            raise ForgedNotification("the notification has no queryId")
        succeeded = params.get("respCode") == "00"
        stored = {key: value for key, value in params.items() if key != "signature"}
        amount = int(params["txnAmt"]) if params.get("txnAmt", "").isdigit() else None
        if txn_type == "04":
            return Notification(
                notify_id=f"{txn_type}:{query_id}",
                event="refunded" if succeeded else "refund_failed",
                out_trade_no=params.get("reqReserved") or None,
                amount_fen=amount,
                provider_txn_id=query_id,
                out_refund_no=params.get("orderId"),
                document=stored,
            )
        return Notification(
            notify_id=f"{txn_type}:{query_id}",
            event="paid" if succeeded else "failed",
            out_trade_no=params.get("orderId"),
            amount_fen=amount,
            provider_txn_id=query_id,
            document=stored,
        )

    def answer(self, accepted: bool) -> Answer:
        return Answer(200 if accepted else 500, b"ok" if accepted else b"fail", "text/plain")
