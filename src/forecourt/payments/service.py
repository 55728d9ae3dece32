"""Payment intents: top-ups paid through a provider, its notifications, refunds back through it.

Invariants:

- A notification counts only if the provider's signature verifies; a forged one is recorded (under
  an id of ours, so it can never occupy a real notification's id) and refused.
- (provider, notify_id) is recorded once: a repeat gets the answer the first one got. Only an
  outcome that asked the provider to try again later (a refund heard of before the payment) is
  processed again when it comes back.
- The intent row is locked while a notification is applied, so it becomes ``paid`` once, and the
  wallet is credited in that same transaction through ``wallet.top_up`` keyed ``intent:{id}``.
- Order does not matter: ``paid`` after ``closed`` still credits (the provider says the member's
  money was taken: it is theirs); ``closed`` or ``failed`` after ``paid`` change nothing.
- A ``paid`` notification whose amount differs from the intent's is refused and recorded.

Refund rule (W4): a refund of R fen of a top-up of A fen that earned a bonus of B fen takes R fen
of principal out of the wallet (refused with ``top_up_already_spent`` if the principal is no longer
there: the wallet never goes below zero) and the bonus in proportion, floor(B × refunded so far ÷
A) less the bonus already taken back; what the bonus balance no longer holds (the member spent it)
is kept out of the money sent back, so a refund never lets the member keep bonus for money they
took back. The refund number sent to the provider is derived
from the intent and the request's Idempotency-Key, so a retry after a failed commit asks the
provider for the same refund again, never a second one.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import SYSTEM, Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.ledger import engine
from forecourt.ledger.chain import Signer
from forecourt.ledger.errors import InsufficientBalance
from forecourt.payments import repository
from forecourt.payments.config import Payments
from forecourt.payments.errors import (
    InvalidPaymentAmount,
    PaymentIntentNotFound,
    PaymentNotPayable,
    PaymentNotRefundable,
    ProviderRefused,
    TopUpAlreadySpent,
)
from forecourt.payments.models import PaymentIntent, PaymentNotification, PaymentRefund
from forecourt.payments.providers.base import (
    Checkout,
    ForgedNotification,
    Notification,
    PaymentOrder,
    ProviderError,
    RefundOrder,
    RefundResult,
)
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.risk import service as risk
from forecourt.wallet import service as wallet

MAX_TOP_UP_FEN = 5_000_000
"""¥50,000: the most one top-up intent may ask for."""
ASSET = "cny"

REFUSED = frozenset(
    {"forged", "amount_mismatch", "provider_mismatch", "refund_before_paid", "refund_amount_mismatch"}
)
"""Outcomes answered with the provider's failure format (it will send the notification again)."""
RETRY_LATER = frozenset({"refund_before_paid"})
"""Outcomes that a repeat of the same notification processes afresh."""


def new_out_trade_no() -> str:
    """32 characters, 120 random bits: unguessable, and fits WeChat Pay's, Alipay's and UnionPay's rules."""
    return "FC" + secrets.token_hex(15)


# --- intents -------------------------------------------------------------------------------------


def create_top_up_intent(
    session: Session,
    payments: Payments,
    member_id: uuid.UUID,
    amount_fen: int,
    provider: str,
    *,
    device_id: str | None = None,
) -> tuple[PaymentIntent, Checkout]:
    """A top-up the member is about to pay: the intent, and what their app needs to pay it.

    The risk rules look at it first (``risk.service.check_payment``, before anything is written:
    a refusal keeps only its decision): the daily limit counts the top-up's amount, and a member-app
    ``device_id`` the member never verified needs the SMS step-up (``risk_step_up_required``)."""
    adapter = payments.provider(provider)
    if not 0 < amount_fen <= MAX_TOP_UP_FEN:
        raise InvalidPaymentAmount(amount_fen=amount_fen, max_fen=MAX_TOP_UP_FEN)
    risk.check_payment(session, member_id, amount_fen, utcnow(), device_id=device_id)
    intent = PaymentIntent(
        id=new_id(),
        out_trade_no=new_out_trade_no(),
        member_id=member_id,
        purpose="top_up",
        provider=provider,
        amount_fen=amount_fen,
        refunded_fen=0,
        status="created",
        created_at=utcnow(),
        details={},
    )
    try:
        checkout = adapter.create_payment(
            PaymentOrder(
                out_trade_no=intent.out_trade_no,
                amount_fen=amount_fen,
                description="会员钱包充值",
                notify_url=payments.notify_url(provider),
            )
        )
    except ProviderError as exc:
        raise ProviderRefused(str(exc), provider=provider) from exc
    intent.details = {"checkout": checkout.params}
    session.add(intent)
    session.flush()
    return intent, checkout


def get_intent(
    session: Session, intent_id: uuid.UUID, *, member_id: uuid.UUID | None = None
) -> PaymentIntent:
    intent = session.get(PaymentIntent, intent_id)
    if intent is None or (member_id is not None and intent.member_id != member_id):
        raise PaymentIntentNotFound(intent_id=str(intent_id))
    return intent


def list_intents(
    session: Session,
    *,
    member_id: uuid.UUID | None = None,
    status: str | None = None,
    provider: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[PaymentIntent]:
    """Newest first, ``limit + 1`` rows (the extra one says there is a next page)."""
    return repository.list_intents(
        session, member_id=member_id, status=status, provider=provider, after=after, limit=limit
    )


def simulate_sandbox_payment(
    session: Session, payments: Payments, member_id: uuid.UUID, intent_id: uuid.UUID
) -> tuple[dict[str, str], bytes]:
    """The member pays a sandbox intent: the signed notification the sandbox will deliver."""
    intent = get_intent(session, intent_id, member_id=member_id)
    adapter = payments.provider("sandbox")
    if intent.provider != "sandbox" or not isinstance(adapter, Sandbox):
        raise PaymentNotPayable(
            "Only a sandbox payment can be paid in the sandbox.", provider=intent.provider
        )
    if intent.status != "created":
        raise PaymentNotPayable(status=intent.status)
    return adapter.simulate_payment(intent.out_trade_no, intent.amount_fen)


# --- notifications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """How a notification was taken: ``accepted`` answers the provider "received"."""

    outcome: str
    accepted: bool
    duplicate: bool = False
    intent_id: uuid.UUID | None = None


def receive_notification(
    session: Session,
    signer: Signer,
    payments: Payments,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Receipt:
    """Verify, record and apply a provider's notification (see the module's invariants)."""
    adapter = payments.provider(provider)
    now = utcnow()
    try:
        note = adapter.parse_notification(headers, body)
    except ForgedNotification as exc:
        session.add(
            PaymentNotification(
                id=new_id(),
                provider=provider,
                notify_id=f"unverified:{new_id()}",
                intent_id=None,
                event="unverified",
                verified=False,
                outcome="forged",
                received_at=now,
                body={"reason": str(exc)[:200], "raw": body[:4000].decode("utf-8", "replace")},
            )
        )
        session.flush()
        return Receipt("forged", accepted=False)
    claimed = repository.claim_notification(
        session,
        {
            "id": new_id(),
            "provider": provider,
            "notify_id": note.notify_id[:96],
            "intent_id": None,
            "event": note.event,
            "verified": True,
            "outcome": "received",
            "received_at": now,
            "body": note.document,
        },
    )
    row = repository.notification_for_update(session, provider, note.notify_id[:96])
    if row is None:  # pragma: no cover - the insert or the earlier one is there
        raise AssertionError("the notification row vanished")
    if claimed is None and row.outcome not in RETRY_LATER:
        return Receipt(
            row.outcome, accepted=row.outcome not in REFUSED, duplicate=True, intent_id=row.intent_id
        )
    outcome, intent = _apply(session, signer, provider, note, now)
    row.outcome = outcome
    row.intent_id = intent.id if intent is not None else None
    session.flush()
    return Receipt(outcome, accepted=outcome not in REFUSED, intent_id=row.intent_id)


def _apply(
    session: Session, signer: Signer, provider: str, note: Notification, now: datetime
) -> tuple[str, PaymentIntent | None]:
    refund = repository.refund_by_number(session, note.out_refund_no) if note.out_refund_no else None
    intent: PaymentIntent | None = None
    if refund is not None:
        intent = repository.intent_for_update(session, refund.intent_id)
        session.refresh(refund)
    elif note.out_trade_no:
        intent = repository.intent_by_trade_no_for_update(session, note.out_trade_no)
    if intent is None:
        return ("unknown_refund" if note.event.startswith("refund") else "unknown_intent"), None
    if intent.provider != provider:
        return "provider_mismatch", intent
    if note.event == "paid":
        return _paid(session, signer, intent, note, now), intent
    if note.event in ("closed", "failed"):
        if intent.status != "created":
            return f"ignored_{note.event}_after_{intent.status}", intent
        intent.status = note.event
        intent.closed_at = now
        return note.event, intent
    if note.event in ("refunded", "refund_failed"):
        if refund is None:
            return ("refund_before_paid" if intent.status == "created" else "unknown_refund"), intent
        if refund.status != "requested":
            return f"refund_already_{refund.status}", intent
        if note.amount_fen is not None and note.amount_fen != refund.amount_fen:
            return "refund_amount_mismatch", intent
        refund.completed_at = now
        if note.event == "refunded":
            refund.status = "succeeded"
            return "refund_succeeded", intent
        refund.status = "failed"
        _give_back(session, signer, intent, refund)
        return "refund_failed", intent
    return "pending", intent


def _paid(session: Session, signer: Signer, intent: PaymentIntent, note: Notification, now: datetime) -> str:
    if note.amount_fen != intent.amount_fen:
        return "amount_mismatch"
    if intent.status in ("paid", "refunded"):
        return "already_paid"
    outcome = "paid_after_close" if intent.status in ("closed", "failed") else "paid"
    intent.status = "paid"
    intent.paid_at = now
    intent.provider_txn_id = (note.provider_txn_id or "")[:64] or None
    if intent.purpose == "top_up" and intent.member_id is not None:
        top_up = wallet.top_up(
            session,
            signer,
            SYSTEM,
            intent.member_id,
            intent.amount_fen,
            method=intent.provider,
            idempotency_key=f"intent:{intent.id}",
            reference=intent.out_trade_no,
            station=intent.station,
            occurred_at=now,
        )
        intent.details = {**intent.details, "top_up_id": str(top_up.id), "bonus_fen": top_up.bonus_fen}
    return outcome


# --- refunds -------------------------------------------------------------------------------------


def _legs(
    session: Session, member_id: uuid.UUID, principal_fen: int, bonus_fen: int, kept_fen: int = 0
) -> list[tuple[Any, int]]:
    """Money out of the wallet back to where the top-up came from (negate the amounts to undo):
    ``kept_fen`` of the principal pays back bonus the member already spent, the rest is refunded."""
    return [
        (engine.member_account(session, ASSET, member_id, "principal"), -principal_fen),
        (engine.program_account(session, ASSET, "top_ups"), principal_fen - kept_fen),
        (engine.member_account(session, ASSET, member_id, "bonus"), -bonus_fen),
        (engine.program_account(session, ASSET, "bonus_funding"), bonus_fen + kept_fen),
    ]


def refund_top_up(
    session: Session,
    signer: Signer,
    payments: Payments,
    actor: Actor,
    intent_id: uuid.UUID,
    *,
    amount_fen: int | None,
    reason: str,
    request_key: str,
) -> PaymentRefund:
    """Refund (part of) a paid top-up through its provider (see the module's refund rule)."""
    intent = repository.intent_for_update(session, intent_id)
    if intent is None:
        raise PaymentIntentNotFound(intent_id=str(intent_id))
    out_refund_no = "RF" + hashlib.sha256(f"{intent.id}:{request_key}".encode()).hexdigest()[:30]
    existing = repository.refund_by_number(session, out_refund_no)
    if existing is not None:
        return existing
    if intent.purpose != "top_up" or intent.member_id is None or intent.status not in ("paid", "refunded"):
        raise PaymentNotRefundable(status=intent.status, purpose=intent.purpose)
    remaining = intent.amount_fen - intent.refunded_fen
    amount = remaining if amount_fen is None else amount_fen
    if not 0 < amount <= remaining:
        raise InvalidPaymentAmount(amount_fen=amount, refundable_fen=remaining)
    purse = wallet.balances(session, intent.member_id)
    if purse.principal_fen < amount:
        raise TopUpAlreadySpent(principal_fen=purse.principal_fen, refund_fen=amount)
    bonus_given = int(intent.details.get("bonus_fen", 0))
    bonus_back_before = int(intent.details.get("bonus_taken_back_fen", 0))
    bonus_due = bonus_given * (intent.refunded_fen + amount) // intent.amount_fen - bonus_back_before
    bonus_back = max(0, min(bonus_due, purse.bonus_fen))
    kept = max(0, bonus_due - bonus_back)  # bonus already spent: paid back out of the principal
    cash = amount - kept
    if cash <= 0:
        raise TopUpAlreadySpent(refund_fen=amount, bonus_spent_fen=kept)
    now = utcnow()
    try:
        engine.post(
            session,
            signer,
            asset=ASSET,
            reason="wallet.top_up_refund",
            idempotency_key=f"payments:refund:{out_refund_no}",
            actor=actor,
            legs=_legs(session, intent.member_id, amount, bonus_back, kept),
            occurred_at=now,
            meta={"intent_id": str(intent.id), "out_refund_no": out_refund_no},
        )
    except InsufficientBalance as exc:
        raise TopUpAlreadySpent(refund_fen=amount) from exc
    refund = PaymentRefund(
        id=new_id(),
        intent_id=intent.id,
        out_refund_no=out_refund_no,
        amount_fen=cash,
        status="requested",
        reason=reason[:200],
        created_at=now,
        completed_at=None,
    )
    session.add(refund)
    provider_error: str | None = None
    try:
        result = payments.provider(intent.provider).refund(
            RefundOrder(
                out_trade_no=intent.out_trade_no,
                provider_txn_id=intent.provider_txn_id,
                out_refund_no=out_refund_no,
                refund_fen=cash,
                total_fen=intent.amount_fen,
                reason=reason,
                notify_url=payments.notify_url(intent.provider),
            )
        )
    except ProviderError as exc:
        # No clear answer (a timeout, a system error, a refusal we cannot read as final): the
        # provider may still pay it out, so the money stays out of the wallet and the refund stays
        # ``requested`` until its notification (or finance) settles it — never paid twice.
        provider_error = str(exc)[:300]
        result = RefundResult("requested", None)
    if result.status == "failed":
        raise ProviderRefused(provider=intent.provider, out_refund_no=out_refund_no)
    if result.status == "succeeded":
        refund.status = "succeeded"
        refund.completed_at = now
    before = {"status": intent.status, "refunded_fen": intent.refunded_fen}
    intent.refunded_fen += amount
    intent.status = "refunded"
    refunds = dict(intent.details.get("refunds", {}))
    refunds[out_refund_no] = {"principal_fen": amount, "bonus_fen": bonus_back, "kept_fen": kept}
    intent.details = {
        **intent.details,
        "refunds": refunds,
        "bonus_taken_back_fen": bonus_back_before + bonus_back + kept,
        **(
            {"refund_errors": {**intent.details.get("refund_errors", {}), out_refund_no: provider_error}}
            if provider_error
            else {}
        ),
    }
    session.flush()
    audit.record(
        session,
        actor,
        "payments.refund",
        "payment_intents",
        intent.id,
        before=before,
        after={
            "status": intent.status,
            "refunded_fen": intent.refunded_fen,
            "out_refund_no": out_refund_no,
            "bonus_taken_back_fen": bonus_back,
            "refund_status": refund.status,
        },
    )
    return refund


def _give_back(session: Session, signer: Signer, intent: PaymentIntent, refund: PaymentRefund) -> None:
    """A refund the provider could not make: the money goes back into the member's wallet."""
    taken = intent.details.get("refunds", {}).get(refund.out_refund_no, {})
    principal, bonus = int(taken.get("principal_fen", refund.amount_fen)), int(taken.get("bonus_fen", 0))
    kept = int(taken.get("kept_fen", 0))
    if intent.member_id is not None:
        engine.post(
            session,
            signer,
            asset=ASSET,
            reason="wallet.top_up_refund_failed",
            idempotency_key=f"payments:refund:{refund.out_refund_no}:failed",
            actor=SYSTEM,
            legs=[
                (account, -amount)
                for account, amount in _legs(session, intent.member_id, principal, bonus, kept)
            ],
            meta={"intent_id": str(intent.id), "out_refund_no": refund.out_refund_no},
        )
    intent.refunded_fen -= principal
    intent.status = "refunded" if intent.refunded_fen > 0 else "paid"
    intent.details = {
        **intent.details,
        "bonus_taken_back_fen": int(intent.details.get("bonus_taken_back_fen", 0)) - bonus - kept,
    }


def member_top_ups_since(
    session: Session, member_id: uuid.UUID, since: datetime
) -> list[tuple[datetime, int]]:
    """The member's online top-ups asked for since ``since`` (paid or awaiting payment), as
    (created_at, amount_fen): the risk rules count them as payments."""
    return repository.top_ups_since(session, member_id, since)
