"""The funds-flow report (SPEC W7): for a chain-time day at a station, top-ups by method with the
bonus they gave, wallet spending and refunds (principal and bonus apart), and sales' external
payments and refunds by method — the same figures as JSON and in the Excel workbook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from forecourt.finance import funds_flow
from forecourt.finance.domain import FIGURES
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.wallet import service as wallet
from tests.fixtures.builders import StaffLogin
from tests.pos.support import Terminal, fuel
from tests.wallet.support import wallet_basket

pytestmark = pytest.mark.usefixtures("no_risk_limits")

REPORT = "/api/v1/finance/funds-flow"


def top_up(session: Session, signer: Signer, member: Member, amount: int, method: str, station: str) -> None:
    wallet.top_up(
        session,
        signer,
        SYSTEM,
        member.id,
        amount,
        method=method,
        idempotency_key=f"{member.id}:{amount}",
        station=station,
    )
    session.flush()


def zeros(**figures: int) -> dict[str, int]:
    return {**dict.fromkeys(FIGURES, 0), **figures}


def a_busy_day(session: Session, signer: Signer, terminal: Terminal, member: Callable[..., Member]) -> date:
    """At the terminal's station, tomorrow 10:00 chain time: two top-ups (cash ¥500 with its ¥50
    bonus, WeChat ¥200), a ¥600 sale paid ¥550 from the wallet and ¥50 cash, half of it refunded,
    and a ¥75 cash sale. Returns the day."""
    day = chain_date(utcnow()) + timedelta(days=1)
    with time_machine.travel(datetime.combine(day, time(10), tzinfo=chain_zone()), tick=False):
        alice, bob = member(), member()
        top_up(session, signer, alice, 50_000, "cash", terminal.station)
        top_up(session, signer, bob, 20_000, "wechat", terminal.station)
        sold = terminal.commit(
            wallet_basket(terminal, alice, fuel("92", "80.00")),
            payments=[{"method": "cash", "amount_fen": 5_000}],
        )
        assert sold.status_code == 201, sold.json()
        refunded = terminal.refund(sold.json()["id"], lines=[{"line_id": "1", "liters": "40.00"}])
        assert refunded.status_code == 200, refunded.json()
        shares = {p["method"]: p["amount_fen"] for p in refunded.json()["refund"]["payments"]}
        assert shares == {"cash": 2_500, "wallet": 25_000, "wallet_bonus": 2_500}
        assert terminal.commit(terminal.basket(fuel("92", "10.00"), member=bob)).status_code == 201
    with time_machine.travel(datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=chain_zone())):
        top_up(session, signer, bob, 30_000, "cash", terminal.station)  # the next day: not in the report
    return day


def expected_rows(day: date, station: str) -> list[dict[str, Any]]:
    return [
        {
            "day": day.isoformat(),
            "station": station,
            "method": "cash",
            **zeros(
                top_ups_fen=50_000,
                bonus_given_fen=5_000,
                external_paid_fen=12_500,
                external_refunded_fen=2_500,
            ),
        },
        {
            "day": day.isoformat(),
            "station": station,
            "method": "wallet",
            **zeros(
                wallet_spent_fen=50_000,
                bonus_spent_fen=5_000,
                wallet_refunds_fen=25_000,
                bonus_refunded_fen=2_500,
            ),
        },
        {"day": day.isoformat(), "station": station, "method": "wechat", **zeros(top_ups_fen=20_000)},
    ]


def test_the_funds_flow_of_a_day_sums_top_ups_wallet_sales_refunds_and_bonus(
    session: Session, signer: Signer, terminal: Terminal, member: Callable[..., Member]
) -> None:
    day = a_busy_day(session, signer, terminal, member)
    report = funds_flow(session, day, day, station=terminal.station)
    assert [row.model_dump(mode="json") for row in report.rows] == expected_rows(day, terminal.station)
    assert report.totals.model_dump() == zeros(
        top_ups_fen=70_000,
        bonus_given_fen=5_000,
        wallet_spent_fen=50_000,
        bonus_spent_fen=5_000,
        wallet_refunds_fen=25_000,
        bonus_refunded_fen=2_500,
        external_paid_fen=12_500,
        external_refunded_fen=2_500,
    )
    assert [m.method for m in report.by_method] == ["cash", "wallet", "wechat"]
    assert (
        funds_flow(session, day - timedelta(days=1), day - timedelta(days=1), station=terminal.station).rows
        == []
    )
    two_days = funds_flow(session, day, day + timedelta(days=1), station=terminal.station)
    assert [(d.day, d.top_ups_fen) for d in two_days.by_day] == [
        (day, 70_000),
        (day + timedelta(days=1), 30_000),
    ]


def test_the_report_is_for_finance_as_json_and_as_a_workbook_with_the_same_figures(
    client: TestClient,
    session: Session,
    signer: Signer,
    terminal: Terminal,
    member: Callable[..., Member],
    staff: Callable[..., StaffLogin],
) -> None:
    day = a_busy_day(session, signer, terminal, member)
    params = {"date_from": day.isoformat(), "date_to": day.isoformat(), "station": terminal.station}
    assert client.get(REPORT, params=params, headers=staff("marketing").headers).status_code == 403
    finance = staff("finance").headers
    answered = client.get(REPORT, params=params, headers=finance)
    assert answered.status_code == 200, answered.json()
    report = answered.json()
    assert report["rows"] == expected_rows(day, terminal.station)

    workbook = client.get(f"{REPORT}.xlsx", params=params, headers=finance)
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(workbook.content))
    assert book.sheetnames == ["Detail", "By day", "By method"]
    detail = list(book["Detail"].iter_rows(values_only=True))
    header, *body, totals = detail

    def fen(value: Any) -> int:
        return int(Decimal(str(value)) * 100)

    assert header[:3] == ("Day", "Station", "Method")
    assert [
        {
            "day": r[0],
            "station": r[1],
            "method": r[2],
            **{n: fen(v) for n, v in zip(FIGURES, r[3:], strict=True)},
        }
        for r in body
    ] == report["rows"]
    assert totals[0] == "合计 Total"
    assert {n: fen(v) for n, v in zip(FIGURES, totals[3:], strict=True)} == report["totals"]
    assert book["Detail"].cell(row=2, column=4).number_format == "#,##0.00"
    by_day = list(book["By day"].iter_rows(values_only=True))
    assert [(r[0], fen(r[1])) for r in by_day[1:]] == [(day.isoformat(), 70_000), ("合计 Total", 70_000)]


def test_a_period_ending_before_it_starts_is_refused(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    refused = client.get(
        REPORT, params={"date_from": "2026-03-02", "date_to": "2026-03-01"}, headers=staff("finance").headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_request")
