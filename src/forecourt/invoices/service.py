"""Invoice use cases (SPEC W6): a member requests a fapiao for fuel sales, may cancel it before
it is issued; staff issue it through the tax platform and retry failures. Never commits.

A sale is covered by one request at most: ``invoiced_sales`` has the sale as primary key and the
rows are inserted with ``ON CONFLICT DO NOTHING``, so of simultaneous requests for a sale exactly
one inserts it and the others answer ``sale_already_invoiced`` (409) and roll back whole. A
cancelled request releases its sales (its ``details`` keep what it covered).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.db.upsert import insert_for
from forecourt.invoices import repository
from forecourt.invoices.domain import (
    CANCELLABLE,
    CANCELLED,
    FAILED,
    INVOICEABLE_SALE_STATUSES,
    ISSUABLE,
    ISSUED,
    REQUESTED,
    RETRYABLE,
    THRESHOLD_FEN,
)
from forecourt.invoices.errors import (
    InvoiceNotFound,
    InvoiceStatusConflict,
    SaleAlreadyInvoiced,
    SaleNotInvoiceable,
)
from forecourt.invoices.models import InvoicedSale, InvoiceRequest
from forecourt.invoices.platform import IssueOrder, PlatformFailure, TaxPlatform
from forecourt.invoices.schemas import (
    InvoiceCreate,
    InvoicedSaleRead,
    InvoiceRead,
    Uninvoiced,
    UninvoicedSale,
)
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import KeyRing
from forecourt.kit.ids import new_id

EMAIL_PURPOSE = "member.invoice_email"
"""Encryption context of the e-mail on an invoice request (a ciphertext of no other field opens)."""
ERASED_EMAIL = ""
"""What the e-mail column holds after the member's erasure."""


def seal_email(keyring: KeyRing, email: str) -> str:
    return keyring.encrypt(email, EMAIL_PURPOSE)


def open_email(keyring: KeyRing, token: str) -> str:
    return "" if token == ERASED_EMAIL else keyring.decrypt(token, EMAIL_PURPOSE)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def read(row: InvoiceRequest, keyring: KeyRing, *, masked: bool = False) -> InvoiceRead:
    email = open_email(keyring, row.email_ciphertext)
    details = row.details or {}
    return InvoiceRead(
        id=row.id,
        member_id=row.member_id,
        title=row.title,
        tax_number=row.tax_number,
        email=mask_email(email) if masked else email,
        amount_fen=row.amount_fen,
        status=row.status,
        platform_ref=row.platform_ref,
        failure=details.get("failure"),
        sales=[InvoicedSaleRead.model_validate(sale) for sale in details.get("sales", [])],
        created_at=row.created_at,
        issued_at=row.issued_at,
    )


# --- the member -------------------------------------------------------------------------------------


def uninvoiced(session: Session, member_id: uuid.UUID) -> Uninvoiced:
    sales = repository.uninvoiced_sales(session, member_id)
    return Uninvoiced(
        total_fen=sum(sale.invoiceable_fen for sale in sales),
        sales=[
            UninvoicedSale(
                sale_id=sale.sale_id,
                station=sale.station,
                occurred_at=sale.occurred_at,
                fuel_liters=sale.fuel_liters,
                amount_fen=sale.invoiceable_fen,
            )
            for sale in sales
        ],
    )


def request_invoice(
    session: Session, keyring: KeyRing, actor: Actor, member_id: uuid.UUID, body: InvoiceCreate
) -> InvoiceRequest:
    """A fapiao request for the member's own completed fuel sales, each covered once."""
    wanted = list(dict.fromkeys(body.sale_ids))
    facts = repository.sales_by_id(session, wanted)
    for sale_id in wanted:
        fact = facts.get(sale_id)
        if fact is None or fact.member_id != member_id:
            raise SaleNotInvoiceable(sale_id=str(sale_id), reason="not_found")
        if fact.status not in INVOICEABLE_SALE_STATUSES:
            raise SaleNotInvoiceable(sale_id=str(sale_id), reason=fact.status)
        if fact.invoiceable_fen <= 0:
            raise SaleNotInvoiceable(sale_id=str(sale_id), reason="no_fuel_paid")
    now = utcnow()
    covered = [facts[sale_id] for sale_id in wanted]
    row = InvoiceRequest(
        id=new_id(),
        member_id=member_id,
        title=body.title.strip(),
        tax_number=body.tax_number,
        email_ciphertext=seal_email(keyring, body.email.strip()),
        amount_fen=sum(fact.invoiceable_fen for fact in covered),
        status=REQUESTED,
        platform_ref=None,
        details={
            "sales": [
                {
                    "sale_id": str(fact.sale_id),
                    "amount_fen": fact.invoiceable_fen,
                    "station": fact.station,
                    "occurred_at": fact.occurred_at.isoformat(),
                }
                for fact in covered
            ]
        },
        created_at=now,
        issued_at=None,
    )
    session.add(row)
    session.flush()
    for fact in covered:
        inserted = session.execute(
            insert_for(session, InvoicedSale)
            .values(sale_id=fact.sale_id, request_id=row.id, amount_fen=fact.invoiceable_fen)
            .on_conflict_do_nothing(index_elements=["sale_id"])
            .returning(InvoicedSale.sale_id)
        ).scalar()
        if inserted is None:
            raise SaleAlreadyInvoiced(sale_id=str(fact.sale_id))
    audit.record(
        session,
        actor,
        "invoice.requested",
        "invoice_requests",
        row.id,
        after={"amount_fen": row.amount_fen, "sales": [str(fact.sale_id) for fact in covered]},
    )
    return row


def member_requests(session: Session, member_id: uuid.UUID) -> list[InvoiceRequest]:
    return repository.requests_of_member(session, member_id)


def _request(
    session: Session, request_id: uuid.UUID, *, member_id: uuid.UUID | None = None
) -> InvoiceRequest:
    row = repository.get_request(session, request_id, lock=True)
    if row is None or (member_id is not None and row.member_id != member_id):
        raise InvoiceNotFound(invoice_id=str(request_id))
    return row


def cancel(session: Session, actor: Actor, member_id: uuid.UUID, request_id: uuid.UUID) -> InvoiceRequest:
    """The member withdraws a request not yet issued; its sales may be invoiced again."""
    row = _request(session, request_id, member_id=member_id)
    if row.status not in CANCELLABLE:
        raise InvoiceStatusConflict(
            "Only a request not yet issued can be cancelled.", invoice_id=str(row.id), status=row.status
        )
    before = row.status
    row.status = CANCELLED
    session.execute(delete(InvoicedSale).where(InvoicedSale.request_id == row.id))
    session.flush()
    audit.record(session, actor, "invoice.cancelled", "invoice_requests", row.id, before={"status": before})
    return row


# --- staff --------------------------------------------------------------------------------------------


def find(
    session: Session,
    *,
    status: str | None = None,
    member_id: uuid.UUID | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[InvoiceRequest]:
    return repository.find_requests(
        session,
        status=status,
        member_id=member_id,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
        offset=offset,
    )


def _send(
    session: Session, keyring: KeyRing, platform: TaxPlatform, actor: Actor, row: InvoiceRequest
) -> InvoiceRequest:
    sale_ids = tuple(
        session.scalars(
            select(InvoicedSale.sale_id)
            .where(InvoicedSale.request_id == row.id)
            .order_by(InvoicedSale.sale_id)
        )
    )
    # Refunds since the request lower what may be invoiced: the fapiao is for what is paid now.
    now_invoiceable = sum(fact.invoiceable_fen for fact in repository.sales_by_id(session, sale_ids).values())
    if now_invoiceable != row.amount_fen:
        row.details = {**(row.details or {}), "amount_requested_fen": row.amount_fen}
        row.amount_fen = now_invoiceable
    if row.amount_fen <= 0:
        raise InvoiceStatusConflict(
            "Nothing is left to invoice: the sales were refunded.", invoice_id=str(row.id), status=row.status
        )
    order = IssueOrder(
        request_id=row.id,
        title=row.title,
        tax_number=row.tax_number,
        email=open_email(keyring, row.email_ciphertext),
        amount_fen=row.amount_fen,
        sale_ids=sale_ids,
    )
    before = row.status
    details = dict(row.details or {})
    attempts = int(details.get("attempts", 0)) + 1
    try:
        reference = platform.issue(order)
    except PlatformFailure as exc:
        row.status = FAILED
        row.details = {**details, "attempts": attempts, "failure": str(exc) or "platform failure"}
    else:
        row.status = ISSUED
        row.platform_ref = reference
        row.issued_at = utcnow()
        row.details = {**{k: v for k, v in details.items() if k != "failure"}, "attempts": attempts}
    session.flush()
    audit.record(
        session,
        actor,
        f"invoice.{row.status}",
        "invoice_requests",
        row.id,
        before={"status": before},
        after={"status": row.status, "platform": platform.name, "platform_ref": row.platform_ref},
    )
    return row


def issue(
    session: Session, keyring: KeyRing, platform: TaxPlatform, actor: Actor, request_id: uuid.UUID
) -> InvoiceRequest:
    """Send a requested fapiao to the tax platform: ``issued`` with its reference, or ``failed``."""
    row = _request(session, request_id)
    if row.status not in ISSUABLE:
        raise InvoiceStatusConflict(
            "Only a requested invoice can be issued.", invoice_id=str(row.id), status=row.status
        )
    return _send(session, keyring, platform, actor, row)


def retry(
    session: Session, keyring: KeyRing, platform: TaxPlatform, actor: Actor, request_id: uuid.UUID
) -> InvoiceRequest:
    """Send a failed request again."""
    row = _request(session, request_id)
    if row.status not in RETRYABLE:
        raise InvoiceStatusConflict(
            "Only a failed invoice can be retried.", invoice_id=str(row.id), status=row.status
        )
    return _send(session, keyring, platform, actor, row)


# --- the ¥200 reminder ------------------------------------------------------------------------------


def check_threshold(session: Session, member_id: uuid.UUID, *, sale_id: str | None = None) -> bool:
    """Publish ``invoice.threshold_reached`` when the member's uninvoiced fuel reaches ¥200.

    Once per crossing: the event's dedupe key counts the member's invoice requests so far, so
    between two requests the reminder goes out once however many sales follow; after the member
    asks for a fapiao (the total falls), reaching ¥200 again is a new crossing. Returns whether
    the total is at or above the threshold."""
    total = sum(sale.invoiceable_fen for sale in repository.uninvoiced_sales(session, member_id))
    if total < THRESHOLD_FEN:
        return False
    crossing = repository.request_count(session, member_id)
    publish(
        session,
        "invoice.threshold_reached",
        {
            "member_id": str(member_id),
            "uninvoiced_fen": total,
            "threshold_fen": THRESHOLD_FEN,
            "sale_id": sale_id,
        },
        dedupe_key=f"invoice.threshold:{member_id}:{crossing}",
    )
    return True
