"""Outbox subscribers of the invoices context: the ¥200 uninvoiced reminder (SPEC W6)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from forecourt.db.outbox import Event, subscribe
from forecourt.invoices import service


@subscribe("transaction.completed", name="invoices.threshold")
def on_transaction_completed(session: Session, event: Event) -> None:
    member_id = event.payload.get("member_id")
    if not member_id:
        return
    service.check_threshold(session, uuid.UUID(member_id), sale_id=event.payload.get("sale_id"))
