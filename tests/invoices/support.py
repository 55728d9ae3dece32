"""Invoice test helpers: mounting the routers, members who buy fuel, invoice requests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.finance.endpoints import router as finance_router
from forecourt.invoices.endpoints import router as invoices_router
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.members.models import Member
from forecourt.tiers import service as tiers
from tests.members.support import MemberLogin
from tests.pos.support import Terminal, fuel

ME = "/api/v1/me/invoices"
STAFF = "/api/v1/invoices"


def mount(app: FastAPI) -> None:
    """Include the invoices and finance routers unless ``create_app`` already does."""
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/api/v1/me/invoices" not in paths:
        app.include_router(invoices_router)
    if "/api/v1/finance/funds-flow" not in paths:
        app.include_router(finance_router)


def member_of(session: Session, login: MemberLogin, tier: str | None = None) -> Member:
    member = session.get(Member, uuid.UUID(login.member_id))
    assert member is not None
    if tier is not None:
        tiers.set_manual(session, SYSTEM, member.id, tier, until=utcnow() + timedelta(days=365), note="test")
        session.flush()
    return member


def buy_fuel(terminal: Terminal, member: Member, liters: str = "40.00", grade: str = "92") -> dict[str, Any]:
    """A fuel sale of the member paid in cash; the committed transaction."""
    sold = terminal.commit(terminal.basket(fuel(grade, liters), member=member))
    assert sold.status_code == 201, sold.json()
    body: dict[str, Any] = sold.json()
    return body


def ask(
    client: TestClient, login: MemberLogin, *sale_ids: str, email: str = "zhang.wei@example.cn", **extra: Any
) -> Any:
    return client.post(
        ME,
        json={"sale_ids": list(sale_ids), "title": "张伟", "email": email, **extra},
        headers=login.headers,
    )
