"""The invoices part of a member's export (titles and tax numbers are the member's; the e-mail is
decrypted for them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.invoices.models import InvoiceRequest
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section


@export_section("invoices", ("invoice_requests",))
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
                "amount_fen": r.amount_fen,
                "status": r.status,
                "created_at": r.created_at,
                "issued_at": r.issued_at,
            }
            for r in requests
        ]
    }
