"""The fapiao workflow (SPEC W6): requested → issued | failed, retried by staff, cancelled by the
member before issue; the e-mail is encrypted at rest; the ¥200 reminder goes out once per crossing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.db.outbox import OutboxEvent
from forecourt.db.session import Database
from forecourt.invoices.models import InvoiceRequest
from forecourt.invoices.platform import IssueOrder, PlatformFailure
from forecourt.invoices.service import EMAIL_PURPOSE
from tests.fixtures.builders import StaffLogin
from tests.invoices.support import ME, STAFF, ask, buy_fuel, member_of
from tests.members.support import MemberLogin
from tests.pos.support import Terminal, deliver_events

pytestmark = pytest.mark.usefixtures("no_risk_limits")

Staff = Callable[..., StaffLogin]


class DownPlatform:
    name = "down"

    def __init__(self) -> None:
        self.orders: list[IssueOrder] = []

    def issue(self, order: IssueOrder) -> str:
        self.orders.append(order)
        raise PlatformFailure("tax platform unreachable")


def requested(client: TestClient, session: Session, terminal: Terminal, login: MemberLogin) -> dict[str, Any]:
    sale = buy_fuel(terminal, member_of(session, login))
    asked = ask(client, login, sale["id"], email="li.na@example.cn", tax_number="91310000MA1FL0AB1X")
    assert asked.status_code == 201, asked.json()
    body: dict[str, Any] = asked.json()
    return body


def test_the_email_is_stored_encrypted_and_only_the_member_sees_it_whole(
    app: FastAPI,
    client: TestClient,
    session: Session,
    terminal: Terminal,
    member_token: MemberLogin,
    staff: Staff,
) -> None:
    invoice = requested(client, session, terminal, member_token)
    stored = session.scalar(  # the column as stored: a String, no decoding on the way
        select(InvoiceRequest.email_ciphertext).where(InvoiceRequest.id == uuid.UUID(invoice["id"]))
    )
    assert stored is not None
    assert "li.na" not in stored
    assert "example.cn" not in stored
    assert app.state.keyring.decrypt(stored, EMAIL_PURPOSE) == "li.na@example.cn"

    mine = client.get(ME, headers=member_token.headers).json()
    assert [(i["id"], i["email"], i["status"]) for i in mine] == [
        (invoice["id"], "li.na@example.cn", "requested")
    ]
    listed = client.get(STAFF, headers=staff("finance").headers, params={"status": "requested"})
    assert listed.status_code == 200, listed.json()
    found = [i for i in listed.json() if i["id"] == invoice["id"]]
    assert [i["email"] for i in found] == ["l***@example.cn"]


def test_only_invoice_managers_list_and_issue(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin, staff: Staff
) -> None:
    invoice = requested(client, session, terminal, member_token)
    marketing = staff("marketing").headers
    assert client.get(STAFF, headers=marketing).status_code == 403
    assert client.post(f"{STAFF}/{invoice['id']}/issue", headers=marketing).status_code == 403


def test_staff_issue_a_requested_fapiao_through_the_platform_once(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin, staff: Staff
) -> None:
    invoice = requested(client, session, terminal, member_token)
    finance = staff("finance").headers
    issued = client.post(f"{STAFF}/{invoice['id']}/issue", headers=finance)
    assert issued.status_code == 200, issued.json()
    assert issued.json()["status"] == "issued"
    assert issued.json()["platform_ref"].startswith("SBX-")
    assert issued.json()["issued_at"] is not None

    again = client.post(f"{STAFF}/{invoice['id']}/issue", headers=finance)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invoice_status_conflict")
    late = client.post(f"{ME}/{invoice['id']}/cancel", headers=member_token.headers)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "invoice_status_conflict")
    assert client.get(ME, headers=member_token.headers).json()[0]["status"] == "issued"


def test_a_platform_failure_leaves_the_request_failed_and_staff_retry_it(
    app: FastAPI,
    client: TestClient,
    session: Session,
    terminal: Terminal,
    member_token: MemberLogin,
    staff: Staff,
) -> None:
    invoice = requested(client, session, terminal, member_token)
    finance = staff("finance").headers
    down = DownPlatform()
    app.state.invoice_platform = down
    failed = client.post(f"{STAFF}/{invoice['id']}/issue", headers=finance)
    assert failed.status_code == 200, failed.json()
    assert (failed.json()["status"], failed.json()["failure"]) == ("failed", "tax platform unreachable")
    assert [(o.email, o.amount_fen, o.tax_number) for o in down.orders] == [
        ("li.na@example.cn", invoice["amount_fen"], "91310000MA1FL0AB1X")
    ]
    not_requested = client.post(f"{STAFF}/{invoice['id']}/issue", headers=finance)
    assert not_requested.status_code == 409

    app.state.invoice_platform = None  # back to the sandbox
    retried = client.post(f"{STAFF}/{invoice['id']}/retry", headers=finance)
    assert retried.status_code == 200, retried.json()
    assert (retried.json()["status"], retried.json()["failure"]) == ("issued", None)
    assert client.post(f"{STAFF}/{invoice['id']}/retry", headers=finance).status_code == 409


def test_a_member_cancels_before_issue_and_the_sale_can_be_invoiced_again(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin
) -> None:
    invoice = requested(client, session, terminal, member_token)
    sale_id = invoice["sales"][0]["sale_id"]
    cancelled = client.post(f"{ME}/{invoice['id']}/cancel", headers=member_token.headers)
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["sales"][0]["sale_id"] == sale_id  # the record keeps what it covered
    free = client.get(f"{ME}/uninvoiced", headers=member_token.headers).json()
    assert [s["sale_id"] for s in free["sales"]] == [sale_id]
    assert ask(client, member_token, sale_id).status_code == 201


def test_a_member_cannot_cancel_someone_elses_request(
    client: TestClient,
    session: Session,
    terminal: Terminal,
    member_token: MemberLogin,
    member_auth: Callable[..., MemberLogin],
) -> None:
    invoice = requested(client, session, terminal, member_token)
    stranger = member_auth()
    refused = client.post(f"{ME}/{invoice['id']}/cancel", headers=stranger.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "invoice_not_found")


def reminders(session: Session, member_id: str) -> list[int]:
    session.expire_all()
    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.topic == "invoice.threshold_reached")
        .order_by(OutboxEvent.occurred_at)
    )
    return [e.payload["uninvoiced_fen"] for e in events if e.payload["member_id"] == member_id]


def test_the_reminder_goes_out_once_when_uninvoiced_fuel_reaches_200_yuan(
    client: TestClient,
    session: Session,
    database: Database,
    terminal: Terminal,
    member_token: MemberLogin,
) -> None:
    someone = member_of(session, member_token)
    sales = []
    for expected in ([], [], [22_500], [22_500]):  # 10 L of 92# is ¥75
        sales.append(buy_fuel(terminal, someone, "10.00"))
        deliver_events(database)
        assert reminders(session, member_token.member_id) == expected
    assert ask(client, member_token, *(s["id"] for s in sales)).status_code == 201
    for expected in ([22_500], [22_500], [22_500, 22_500]):  # a new crossing after the fapiao
        buy_fuel(terminal, someone, "10.00")
        deliver_events(database)
        assert reminders(session, member_token.member_id) == expected


def test_in_production_no_sandbox_issues_a_fapiao(
    app: FastAPI,
    client: TestClient,
    session: Session,
    terminal: Terminal,
    member_token: MemberLogin,
    staff: Staff,
) -> None:
    invoice = requested(client, session, terminal, member_token)
    finance = staff("finance").headers
    app.state.settings = app.state.settings.model_copy(update={"env": "production"})
    refused = client.post(f"{STAFF}/{invoice['id']}/issue", headers=finance)
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "invoice_platform_not_configured")
    assert client.get(ME, headers=member_token.headers).json()[0]["status"] == "requested"


def test_a_refund_after_the_request_lowers_the_fapiao_and_a_full_refund_leaves_nothing_to_issue(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin, staff: Staff
) -> None:
    driver = member_of(session, member_token)
    half, whole = buy_fuel(terminal, driver, "40.00"), buy_fuel(terminal, driver, "20.00")
    first = ask(client, member_token, half["id"]).json()
    second = ask(client, member_token, whole["id"]).json()
    line = half["lines"][0]["line_id"]
    assert terminal.refund(half["id"], lines=[{"line_id": line, "liters": "20.00"}]).status_code == 200
    assert terminal.refund(whole["id"]).status_code == 200
    finance = staff("finance").headers

    issued = client.post(f"{STAFF}/{first['id']}/issue", headers=finance)
    assert issued.status_code == 200, issued.json()
    assert issued.json()["amount_fen"] == first["amount_fen"] // 2
    refused = client.post(f"{STAFF}/{second['id']}/issue", headers=finance)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "invoice_status_conflict")
