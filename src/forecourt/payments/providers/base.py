"""The one interface every payment provider adapter implements, and the shapes it speaks in.

An adapter knows its provider's published signing rules and wire formats; it never touches the
database. The service asks it to create a payment (what the member's app needs to pay), to parse
and verify a notification (``ForgedNotification`` if the signature or the encryption does not hold),
to request a refund, and for the answer the provider expects to a notification.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NotificationEvent = Literal["paid", "closed", "failed", "refunded", "refund_failed", "pending"]
RefundStatus = Literal["succeeded", "requested", "failed"]


class ForgedNotification(Exception):
    """The notification's signature (or decryption) does not verify: it is not from the provider."""


class ProviderError(Exception):
    """The provider refused a request or answered something we cannot trust."""


@dataclass(frozen=True)
class PaymentOrder:
    out_trade_no: str
    amount_fen: int
    description: str
    notify_url: str


@dataclass(frozen=True)
class Checkout:
    """What the member's app needs to pay (a prepay id and signed app parameters, an order string …)."""

    params: dict[str, Any]


@dataclass(frozen=True)
class Notification:
    """A verified notification, in our words."""

    notify_id: str
    event: NotificationEvent
    out_trade_no: str | None
    amount_fen: int | None
    """What was paid (``paid``) or refunded (``refunded``), in fen."""
    provider_txn_id: str | None = None
    out_refund_no: str | None = None
    document: dict[str, Any] = field(default_factory=dict)
    """The notification as the provider sent it (decrypted), kept with our record of it."""


@dataclass(frozen=True)
class RefundOrder:
    out_trade_no: str
    provider_txn_id: str | None
    out_refund_no: str
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    provider_refund_id: str | None = None


@dataclass(frozen=True)
class Answer:
    """The HTTP answer the provider expects to its notification."""

    status: int
    body: bytes
    media_type: str


class PaymentProvider(ABC):
    name: str

    @abstractmethod
    def create_payment(self, order: PaymentOrder) -> Checkout: ...

    @abstractmethod
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """The verified notification; ``ForgedNotification`` if it is not the provider's."""

    @abstractmethod
    def refund(self, order: RefundOrder) -> RefundResult: ...

    @abstractmethod
    def answer(self, accepted: bool) -> Answer:
        """What to answer: ``accepted`` stops the provider's retries, a refusal asks for them."""


# --- helpers shared by the adapters -------------------------------------------------------------


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: the signature WeChat Pay, Alipay RSA2 and UnionPay use."""
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA private key is required")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        from cryptography import x509

        key: Any = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an RSA public key is required")
    return key


def yuan_to_fen(text: str) -> int:
    """``"12.34"`` → 1234, exactly; anything not a yuan amount to the fen is refused."""
    try:
        amount = Decimal(text) * 100
    except InvalidOperation as exc:
        raise ForgedNotification(f"not an amount: {text!r}") from exc
    if amount != amount.to_integral_value():
        raise ForgedNotification(f"not an amount to the fen: {text!r}")
    return int(amount)


def fen_to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (a missing one is a forged notification)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name.lower())
    if not value:
        raise ForgedNotification(f"missing header {name}")
    return value
