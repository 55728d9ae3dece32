"""The invoices part of a member's export (titles and tax numbers are the member's; the e-mail is
decrypted for them) and of their erasure: a fapiao is a tax record and is kept, but the e-mail is
overwritten and requests not yet issued are cancelled (their sales released)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from forecourt.invoices.domain import CANCELLABLE, CANCELLED
from forecourt.invoices.models import InvoicedSale, InvoiceRequest
from forecourt.invoices.service import EMAIL_PURPOSE, ERASED_EMAIL
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section


def _erase(session: Session, member: Member) -> None:
    pending = select(InvoiceRequest.id).where(
        InvoiceRequest.member_id == member.id, InvoiceRequest.status.in_(sorted(CANCELLABLE))
    )
    session.execute(delete(InvoicedSale).where(InvoicedSale.request_id.in_(pending.scalar_subquery())))
    session.execute(
        update(InvoiceRequest)
        .where(InvoiceRequest.member_id == member.id, InvoiceRequest.status.in_(sorted(CANCELLABLE)))
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(InvoiceRequest)
        .where(InvoiceRequest.member_id == member.id)
        .values(email_ciphertext=ERASED_EMAIL)
        .execution_options(synchronize_session=False)
    )


@export_section("invoices", ("invoice_requests",), erase=_erase)
def _invoices(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    requests = session.scalars(
        select(InvoiceRequest)
        .where(InvoiceRequest.member_id == member.id)
        .order_by(InvoiceRequest.created_at)
    )
    return {
        "invoices": [
            {
                "title": r.title,
                "tax_number": r.tax_number,
                "email": None
                if r.email_ciphertext == ERASED_EMAIL
                else pii.keyring.decrypt(r.email_ciphertext, EMAIL_PURPOSE),
                "amount_fen": r.amount_fen,
                "status": r.status,
                "platform_ref": r.platform_ref,
                "sales": (r.details or {}).get("sales", []),
                "created_at": r.created_at,
                "issued_at": r.issued_at,
            }
            for r in requests
        ]
    }
