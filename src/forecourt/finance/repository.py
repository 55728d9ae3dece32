"""Queries of the funds-flow report: ledger entries of wallet money, sale payments and refunds in
a UTC window. Rows are aggregated in Python (by chain-time day, which SQL cannot compute alike on
SQLite and PostgreSQL); the window bounds what is read."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.ledger.models import Entry, LedgerAccount, Posting
from forecourt.payments.models import PaymentIntent
from forecourt.pos.models import Sale, SalePayment, SaleRefund
from forecourt.wallet.service import ASSET

WALLET_PAYMENT_METHODS = ("wallet", "wallet_bonus", "fuel_credit")
"""Sale payments made from the wallet (counted from the ledger, not as external money)."""


def wallet_entries(
    session: Session, start: datetime, end: datetime, station: str | None
) -> Iterator[tuple[datetime, str | None, str, dict[str, Any], str, int]]:
    """(occurred_at, station, reason, meta, purpose, amount) of entries on members' wallet accounts."""
    query = (
        select(
            Posting.occurred_at,
            Posting.station_code,
            Posting.reason,
            Posting.meta,
            LedgerAccount.purpose,
            Entry.amount,
        )
        .join(Entry, Entry.posting_id == Posting.id)
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(
            Posting.asset == ASSET,
            LedgerAccount.member_id.is_not(None),
            Posting.occurred_at >= start,
            Posting.occurred_at < end,
        )
    )
    if station is not None:
        query = query.where(Posting.station_code == station)
    for occurred_at, code, reason, meta, purpose, amount in session.execute(query):
        yield occurred_at, code, reason, dict(meta or {}), purpose, int(amount)


def external_payments(
    session: Session, start: datetime, end: datetime, station: str | None
) -> Iterator[tuple[datetime, str, str, int]]:
    """(sale time, station, method, amount) of sales' payments not made from the wallet."""
    query = (
        select(Sale.occurred_at, Sale.station_code, SalePayment.method, SalePayment.amount_fen)
        .join(SalePayment, SalePayment.sale_id == Sale.id)
        .where(
            Sale.occurred_at >= start,
            Sale.occurred_at < end,
            SalePayment.method.not_in(WALLET_PAYMENT_METHODS),
        )
    )
    if station is not None:
        query = query.where(Sale.station_code == station)
    for occurred_at, code, method, amount in session.execute(query):
        yield occurred_at, code, method, int(amount)


def external_refunds(
    session: Session, start: datetime, end: datetime, station: str | None
) -> Iterator[tuple[datetime, str, str, int]]:
    """(refund time, station, method, amount) of refunds of external payments, from each refund's
    document (its share per payment method)."""
    query = (
        select(SaleRefund.created_at, Sale.station_code, SaleRefund.document)
        .join(Sale, Sale.id == SaleRefund.sale_id)
        .where(SaleRefund.created_at >= start, SaleRefund.created_at < end)
    )
    if station is not None:
        query = query.where(Sale.station_code == station)
    for created_at, code, document in session.execute(query):
        for payment in (document or {}).get("payments", []):
            method = str(payment.get("method"))
            if method not in WALLET_PAYMENT_METHODS:
                yield created_at, code, method, int(payment.get("amount_fen", 0))


def intent_providers(session: Session, intent_ids: Collection[str]) -> dict[str, str]:
    """The provider (wechat, alipay …) of each online payment intent, by id as text."""
    ids = [uuid.UUID(value) for value in intent_ids]
    if not ids:
        return {}
    rows = session.execute(select(PaymentIntent.id, PaymentIntent.provider).where(PaymentIntent.id.in_(ids)))
    return {str(intent_id): provider for intent_id, provider in rows}
