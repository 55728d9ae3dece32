"""Helpers shared by the stations tests: error bodies, row counts, API shortcuts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.db.outbox import OutboxEvent
from forecourt.stations.models import Nozzle, Pump, Region, Station, StationPrice

COUNTED = (Station, Region, StationPrice, Pump, Nozzle, AuditEntry, OutboxEvent)


def error(response: Response, status: int, code: str, case: object = None) -> dict[str, Any]:
    """The error of a response, after checking its status, shape and code (``case`` names the input)."""
    assert response.status_code == status, (case, response.text)
    body = response.json()
    assert set(body) == {"error"}, (case, body)
    assert set(body["error"]) == {"code", "message", "details"}, (case, body)
    assert body["error"]["code"] == code, (case, body)
    error: dict[str, Any] = body["error"]
    return error


def counts(session: Session) -> dict[str, int]:
    """Rows of every table a stations write touches (stations, prices, pumps, audit, outbox)."""
    query = select(
        *(
            select(func.count()).select_from(model).scalar_subquery().label(model.__tablename__)
            for model in COUNTED
        )
    )
    return dict(session.execute(query).one()._mapping)


def create_station(client: TestClient, headers: dict[str, str], code: str, **fields: Any) -> Response:
    body = {"code": code, "name": f"{code} 站", **fields}
    response = client.post("/api/v1/stations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response


def create_region(client: TestClient, headers: dict[str, str], code: str, name: str = "片区") -> None:
    response = client.post("/api/v1/regions", json={"code": code, "name": name}, headers=headers)
    assert response.status_code == 201, response.text


def put_price(
    client: TestClient,
    headers: dict[str, str],
    station: str,
    grade: str,
    price_fen: int,
    effective_from: datetime | str | None = None,
) -> Response:
    body: dict[str, Any] = {"grade": grade, "price_fen": price_fen}
    if effective_from is not None:
        body["effective_from"] = (
            effective_from.isoformat() if isinstance(effective_from, datetime) else effective_from
        )
    return client.put(f"/api/v1/stations/{station}/prices", json=body, headers=headers)


def board(
    client: TestClient, headers: dict[str, str], station: str, at: datetime | None = None
) -> dict[str, int]:
    """grade → price_fen in force at a station (now, or at ``at``)."""
    params = {"at": at.isoformat()} if at is not None else {}
    response = client.get(f"/api/v1/stations/{station}/prices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {row["grade"]: row["price_fen"] for row in response.json()["prices"]}


def audit(client: TestClient, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params=filters, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)
