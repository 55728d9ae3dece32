"""POS test helpers: a signed terminal that quotes, commits and refunds like a real POS."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.db.outbox import OutboxEvent, dispatch_due
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger.models import Posting
from forecourt.members import service as members
from forecourt.members.member_code import current_code
from forecourt.members.models import Member
from forecourt.pos.models import Sale, SaleLine
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from tests.devices.support import IssuedCredential
from tests.fixtures.builders import make_station

PRICES = {"92": 750, "95": 800, "98": 900, "0": 720}
"""Fen per litre at the test station."""


@dataclass
class Terminal:
    """A POS device at a station, sending signed requests through the test client."""

    client: TestClient
    credential: IssuedCredential
    sequence: list[int] = field(default_factory=lambda: [0])

    @property
    def station(self) -> str:
        return self.credential.station.code

    def post(self, path: str, body: dict[str, Any], *, key: str | None = None) -> Any:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = self.credential.headers("POST", path, raw)
        headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, content=raw, headers=headers)

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.credential.headers("GET", path))

    def next_txn(self) -> str:
        self.sequence[0] += 1
        return f"T{self.sequence[0]:06d}-{uuid.uuid4().hex[:6]}"

    def basket(
        self,
        *lines: dict[str, Any],
        member: Member | None = None,
        points: int | str = 0,
        occurred_at: datetime | None = None,
        wallet: bool = False,
    ) -> dict[str, Any]:
        """A quote body; with ``wallet`` the member is identified by the member code they show (the
        wallet pays only then)."""
        identifier = None
        if member is not None:
            identifier = (
                shown_member_code(self.client.app, member)
                if wallet
                else {"type": "member_id", "value": str(member.id)}
            )
        body: dict[str, Any] = {
            "station": self.station,
            "member": identifier,
            "lines": list(lines),
            "redeem": {"coupons": [], "points": points, "wallet": wallet},
        }
        if occurred_at is not None:
            body["occurred_at"] = occurred_at.isoformat()
        return body

    def quote(self, body: dict[str, Any]) -> Any:
        return self.post("/api/v1/pos/quote", body)

    def commit(
        self, body: dict[str, Any], *, payments: list[dict[str, Any]] | None = None, key: str | None = None
    ) -> Any:
        """Commit ``body``; without ``payments`` the due amount is quoted first and paid in cash."""
        if payments is None:
            quoted = self.quote(body)
            assert quoted.status_code == 200, quoted.json()
            payments = [{"method": "cash", "amount_fen": quoted.json()["due_fen"]}]
        full = {**body, "pos_txn_id": self.next_txn(), "payments": payments}
        return self.post("/api/v1/pos/transactions", full, key=key or str(uuid.uuid4()))

    def refund(
        self, sale_id: str, *, reason: str = "顾客退款", lines: list[dict[str, Any]] | None = None
    ) -> Any:
        body: dict[str, Any] = {"reason": reason}
        if lines is not None:
            body["lines"] = lines
        return self.post(f"/api/v1/pos/transactions/{sale_id}/refund", body, key=str(uuid.uuid4()))


def shown_member_code(app: Any, member: Member) -> dict[str, str]:
    """The identifier a POS reads when the member shows the QR code of their app, now."""
    code = current_code(member.code_id or "", members.code_secret_of(app.state.pii, member), utcnow())
    return {"type": "member_code", "value": code.code}


def fuel(
    grade: str = "92", liters: str = "40.00", line_id: str = "1", nozzle: str | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {"line_id": line_id, "kind": "fuel", "grade": grade, "liters": liters}
    if nozzle is not None:
        line["nozzle"] = nozzle
    return line


def goods(
    sku: str = "WASH-STD",
    category: str = "car_wash",
    quantity: int = 1,
    unit_price_fen: int = 3000,
    line_id: str = "2",
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "kind": "goods",
        "sku": sku,
        "category": category,
        "quantity": quantity,
        "unit_price_fen": unit_price_fen,
    }


def deliver_events(database: Database) -> None:
    """Run the outbox handlers now (the API process does this right after each commit)."""
    dispatch_due(database)


def points_of(session: Session, member: Member) -> int:
    from forecourt.ledger import points

    session.expire_all()
    return points.balances(session, member.id).available


@dataclass(frozen=True)
class Footprint:
    """What a sale leaves behind: sale rows, their lines, ledger postings, sale events."""

    sales: int
    sale_lines: int
    postings: int
    sale_events: int


def footprint(session: Session) -> Footprint:
    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    session.expire_all()
    return Footprint(
        sales=count(select(func.count()).select_from(Sale)),
        sale_lines=count(select(func.count()).select_from(SaleLine)),
        postings=count(select(func.count()).select_from(Posting)),
        sale_events=count(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic.like("transaction.%"))
        ),
    )


def sale_body(terminal: Terminal, body: dict[str, Any], *payments: tuple[str, int]) -> dict[str, Any]:
    """``body`` as a commit: a fresh ``pos_txn_id`` and the given ``(method, amount_fen)`` payments."""
    return {
        **body,
        "pos_txn_id": terminal.next_txn(),
        "payments": [{"method": method, "amount_fen": amount} for method, amount in payments],
    }


def priced_station(session: Session, *, region: str | None = None, code: str | None = None) -> Station:
    """A new station whose PRICES are in force since 30 days ago."""
    station = make_station(session, code, region=region)
    for grade, price in PRICES.items():
        stations.set_price(
            session,
            SYSTEM,
            station.code,
            grade=grade,
            price_fen=price,
            effective_from=utcnow() - timedelta(days=30),
        )
    session.flush()
    return station
