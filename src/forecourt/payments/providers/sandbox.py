"""The sandbox provider the demo uses: no money moves, but the flow is the real one.

``simulate_payment`` plays the member paying: it returns the notification the sandbox "sends",
a JSON body signed with HMAC-SHA256 (hex, header ``X-Sandbox-Signature``) under the sandbox secret,
which our notify handler verifies exactly like a provider's. Refunds complete at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from forecourt.kit.clock import utcnow
from forecourt.payments.providers.base import (
    Answer,
    Checkout,
    ForgedNotification,
    Notification,
    NotificationEvent,
    PaymentOrder,
    PaymentProvider,
    RefundOrder,
    RefundResult,
    header,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
EVENTS: tuple[NotificationEvent, ...] = ("paid", "closed", "failed", "refunded", "refund_failed")


def signature(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class Sandbox(PaymentProvider):
    name = "sandbox"

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def create_payment(self, order: PaymentOrder) -> Checkout:
        return Checkout({"sandbox": True, "out_trade_no": order.out_trade_no, "amount_fen": order.amount_fen})

    def refund(self, order: RefundOrder) -> RefundResult:
        return RefundResult("succeeded", f"SBR{secrets.token_hex(12)}")

    def notification(
        self,
        event: NotificationEvent,
        out_trade_no: str,
        amount_fen: int,
        *,
        notify_id: str | None = None,
        out_refund_no: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed notification as the sandbox sends it: (headers, body)."""
        body = json.dumps(
            {
                "notify_id": notify_id or f"SBN{secrets.token_hex(12)}",
                "event": event,
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "amount_fen": amount_fen,
                "txn_id": f"SBT{hashlib.sha256(out_trade_no.encode()).hexdigest()[:24]}",
                "occurred_at": utcnow().isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        return {SIGNATURE_HEADER: signature(self.secret, body), "Content-Type": "application/json"}, body

    def simulate_payment(self, out_trade_no: str, amount_fen: int) -> tuple[dict[str, str], bytes]:
        """The member pays in the sandbox: the asynchronous ``paid`` notification it sends."""
        return self.notification("paid", out_trade_no, amount_fen)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        if not hmac.compare_digest(header(headers, SIGNATURE_HEADER), signature(self.secret, body)):
            raise ForgedNotification("the sandbox signature does not verify")
        try:
            document = json.loads(body)
            event = document["event"]
            amount = document["amount_fen"]
            notify_id = str(document["notify_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ForgedNotification("not a sandbox notification") from exc
        if event not in EVENTS or not isinstance(amount, int):
            raise ForgedNotification("not a sandbox notification")
        return Notification(
            notify_id=notify_id,
            event=event,
            out_trade_no=document.get("out_trade_no"),
            amount_fen=amount,
            provider_txn_id=document.get("txn_id"),
            out_refund_no=document.get("out_refund_no"),
            document=document,
        )

    def answer(self, accepted: bool) -> Answer:
        body = {"code": "SUCCESS"} if accepted else {"code": "FAIL"}
        return Answer(200 if accepted else 400, json.dumps(body).encode(), "application/json")
