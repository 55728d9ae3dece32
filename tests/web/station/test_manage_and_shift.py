"""The manager's pages: this station's prices, opening and closing, and the shift report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.kit.clock import chain_date, utcnow
from forecourt.stations import service as stations
from forecourt.stations.models import Station
from tests.coupons.test_redemption import with_coupons
from tests.devices.support import issue
from tests.fixtures.builders import StaffLogin
from tests.pos.support import Terminal, fuel, goods
from tests.web.station.conftest import Driver
from tests.web.support import htmx, sign_in


def test_a_manager_sets_a_price_for_their_station(
    client: TestClient, manager: StaffLogin, station: Station, session: Session
) -> None:
    page = client.get("/station/manage")
    assert page.status_code == 200
    assert 'data-testid="price-92">¥7.50<' in page.text

    done = htmx(client, "POST", "/station/manage/price", {"grade": "92", "price": "7.85"})

    assert done.status_code == 200, done.text
    assert 'data-testid="price-92">¥7.85<' in done.text
    assert stations.price_in_force(session, station.id, "92", utcnow()) == 785


def test_an_absurd_or_missing_price_is_refused_and_nothing_changes(
    client: TestClient, manager: StaffLogin, station: Station, session: Session
) -> None:
    absurd = htmx(client, "POST", "/station/manage/price", {"grade": "92", "price": "0.05"})
    assert absurd.status_code == 400
    assert 'data-error-code="invalid_price"' in absurd.text
    missing = htmx(client, "POST", "/station/manage/price", {"grade": "92", "price": ""})
    assert missing.status_code == 400
    assert stations.price_in_force(session, station.id, "92", utcnow()) == 750


def is_open(session: Session, station: Station) -> bool:
    session.refresh(station)
    return station.is_open


def test_a_manager_closes_and_reopens_the_station(
    client: TestClient, manager: StaffLogin, station: Station, session: Session
) -> None:
    closed = htmx(client, "POST", "/station/manage/open", {"is_open": "0"})
    assert closed.status_code == 200, closed.text
    assert 'data-open="false"' in closed.text
    assert not is_open(session, station)

    opened = htmx(client, "POST", "/station/manage/open", {"is_open": "1"})
    assert 'data-open="true"' in opened.text
    assert is_open(session, station)
    recorded = session.execute(
        select(AuditEntry.action, AuditEntry.actor_label).where(AuditEntry.entity_id == str(station.id))
    ).all()
    assert {("station.close", manager.user.username), ("station.open", manager.user.username)} <= set(
        recorded
    )


def test_an_attendant_may_not_open_the_managers_pages(
    client: TestClient, attendant: StaffLogin, station: Station, session: Session
) -> None:
    assert client.get("/station/manage").status_code == 403
    assert htmx(client, "POST", "/station/manage/price", {"grade": "92", "price": "9"}).status_code == 403
    assert htmx(client, "POST", "/station/manage/open", {"is_open": "0"}).status_code == 403
    assert client.get("/station/shift").status_code == 403
    assert is_open(session, station)
    assert stations.price_in_force(session, station.id, "92", utcnow()) == 750


def test_the_shift_report_adds_up_the_days_sales(
    client: TestClient,
    manager: StaffLogin,
    station: Station,
    driver: Driver,
    session: Session,
    app: FastAPI,
) -> None:
    terminal = Terminal(client, issue(session, app, station))
    body = with_coupons(terminal, driver.member, fuel("92", "40.00"), coupons=[driver.coupon], points=500)
    member_sale = terminal.commit(body).json()  # ¥300 − ¥10 coupon − ¥5 points = ¥285 cash
    walk_in = terminal.commit(
        terminal.basket(fuel("95", "20.00")), payments=[{"method": "wechat", "amount_fen": 16_000}]
    ).json()
    wash = terminal.commit(
        terminal.basket(goods(line_id="1")), payments=[{"method": "alipay", "amount_fen": 3_000}]
    ).json()
    yesterday = utcnow() - timedelta(days=1)
    terminal.commit(terminal.basket(fuel("92", "10.00"), occurred_at=yesterday))
    assert member_sale["due_fen"] == 28_500

    page = client.get("/station/shift")

    assert page.status_code == 200
    text = page.text
    assert 'data-testid="shift-sales">3<' in text
    assert 'data-testid="shift-gross">¥490.00<' in text
    assert 'data-testid="liters-92">40.00 ' in text
    assert 'data-testid="paid-cash">¥285.00<' in text
    assert 'data-testid="paid-wechat">¥160.00<' in text
    assert 'data-testid="paid-alipay">¥30.00<' in text
    earned = (
        member_sale["points_earned"]["total"]
        + walk_in["points_earned"]["total"]
        + wash["points_earned"]["total"]
    )
    assert f'data-testid="shift-points-earned">{earned:,}<' in text
    assert 'data-testid="shift-points-redeemed">500<' in text
    assert 'data-testid="shift-coupons">1<' in text
    assert text.count('data-testid="shift-sale"') == 3

    before = client.get(f"/station/shift?day={chain_date(yesterday).isoformat()}").text
    assert 'data-testid="shift-sales">1<' in before


def test_head_office_sees_a_notice_on_the_managers_pages(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("admin"), console="station")
    for path in ("/station/manage", "/station/shift", "/station/verify"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'data-testid="no-station"' in page.text
    assert htmx(client, "POST", "/station/manage/open", {"is_open": "0"}).status_code == 403


def test_the_shift_report_reads_in_english(client: TestClient, manager: StaffLogin) -> None:
    chinese = client.get("/station/shift").text
    assert "班次报表" in chinese
    client.get("/lang/en?next=/station/shift")
    english = client.get("/station/shift").text
    assert "Shift report" in english
    assert "Litres by grade" in english
