"""A member's fapiao requests in their data export (e-mail decrypted for them) and on erasure: the
tax record stays, the e-mail does not, and requests not yet issued are withdrawn."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.invoices.models import InvoicedSale, InvoiceRequest
from forecourt.kit.actor import SYSTEM
from forecourt.members import privacy
from forecourt.members.pii import Pii
from tests.invoices.support import ask, buy_fuel, member_of
from tests.members.support import MemberLogin
from tests.pos.support import Terminal

pytestmark = pytest.mark.usefixtures("no_risk_limits")


def test_the_export_shows_the_request_and_erasure_keeps_the_record_but_not_the_email(
    client: TestClient, session: Session, pii: Pii, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token)
    sale = buy_fuel(terminal, someone)
    asked = ask(client, member_token, sale["id"], email="wang.fang@example.cn")
    assert asked.status_code == 201, asked.json()

    exported = privacy.export(session, pii, someone)
    [entry] = exported["invoices"]["invoices"]
    assert (entry["email"], entry["amount_fen"], entry["status"]) == (
        "wang.fang@example.cn",
        30_000,
        "requested",
    )

    privacy.erase(session, SYSTEM, someone, reason="test")
    session.expire_all()
    row = session.scalars(
        select(InvoiceRequest).where(InvoiceRequest.id == uuid.UUID(asked.json()["id"]))
    ).one()
    assert (row.email_ciphertext, row.status, row.amount_fen, row.title) == ("", "cancelled", 30_000, "张伟")
    assert session.scalars(select(InvoicedSale).where(InvoicedSale.request_id == row.id)).all() == []
