"""The head office dashboard: KPI cards and ECharts charts of members, sales, points and coupons
per chain day, over the last 7, 30 or 90 days."""

from __future__ import annotations

from fastapi import FastAPI

from forecourt.kit.clock import chain_date, utcnow
from tests.coupons.support import give_coupon, make_template
from tests.devices.support import issue
from tests.members.support import earn_points, spend_points
from tests.pos.support import Terminal, fuel, priced_station
from tests.web.admin_insight.support import chart_data, series


def _sell(session, app: FastAPI, client, member) -> dict:
    terminal = Terminal(client, issue(session, app, priced_station(session)))
    sold = terminal.commit(terminal.basket(fuel("92", "40.00"), member=member))
    assert sold.status_code in (200, 201), sold.text
    return sold.json()


def test_the_dashboard_charts_todays_new_members_sales_points_and_coupons(
    client, session, app, signed_in, member, signer
) -> None:
    first, second = member(), member()
    sale = _sell(session, app, client, first)
    earn_points(session, signer, second.id, 700)
    spend_points(session, signer, second.id, 200)
    template = make_template(session)
    give_coupon(session, first, template.code, utcnow())
    signed_in("marketing")

    page = client.get("/admin")

    assert page.status_code == 200
    html = page.text
    assert "vendor/echarts-5.6.0.min.js" in html
    today = chain_date(utcnow()).isoformat()
    members_chart = chart_data(html, "chart-members")
    assert len(members_chart["xAxis"]["data"]) == 30
    assert members_chart["xAxis"]["data"][-1] == today
    assert series(members_chart, 0)[-1] == 2  # new members today
    assert series(members_chart, 1)[-1] == 1  # members seen at a sale today
    sales_chart = chart_data(html, "chart-sales")
    assert series(sales_chart, 0)[-1] == 1
    assert series(sales_chart, 1)[-1] == "300.00"  # 40 L of 92# at ¥7.50
    points_chart = chart_data(html, "chart-points")
    assert series(points_chart, 0)[-1] == 700 + sale["points_earned"]["total"]
    assert series(points_chart, 1)[-1] == 200
    coupons_chart = chart_data(html, "chart-coupons")
    assert series(coupons_chart, 0)[-1] == 1
    assert 'data-kpi="sales-fen">¥300.00<' in html


def test_the_period_is_7_30_or_90_days_and_anything_else_is_30(client, signed_in) -> None:
    signed_in("admin")

    week = client.get("/admin", params={"days": "7"})
    odd = client.get("/admin", params={"days": "12"})

    assert len(chart_data(week.text, "chart-sales")["xAxis"]["data"]) == 7
    assert 'href="/admin?days=7" aria-current="page"' in week.text
    assert len(chart_data(odd.text, "chart-sales")["xAxis"]["data"]) == 30


def test_the_liability_card_shows_the_points_outstanding_and_their_value(
    client, signed_in, member, signer, session
) -> None:
    earn_points(session, signer, member().id, 1_000)
    signed_in("finance")

    html = client.get("/admin").text

    assert 'data-kpi="liability">¥10.00<' in html  # 1,000 points at ¥0.01 each (the default unit cost)
    assert "1,000" in html.split('data-kpi="outstanding">')[1].split("</div>")[0]


def test_a_partner_account_cannot_open_the_dashboard(client, signed_in) -> None:
    signed_in("partner")

    assert client.get("/admin").status_code == 403


def test_the_dashboard_speaks_english_when_asked(client, signed_in) -> None:
    signed_in("admin")

    client.get("/lang/en?next=/admin")
    page = client.get("/admin")

    assert page.status_code == 200
    assert "<h1>Dashboard</h1>" in page.text
    assert "Last 90 days" in page.text
    assert chart_data(page.text, "chart-members")["legend"]["data"] == ["New members", "Active members"]


def test_the_dashboard_is_chinese_by_default(client, signed_in) -> None:
    signed_in("admin")

    page = client.get("/admin")

    assert "<h1>仪表盘</h1>" in page.text
    assert "近 30 天" in page.text


def test_the_points_liability_in_yuan_is_for_those_who_see_finance_reports(client, signed_in) -> None:
    signed_in("marketing")
    page = client.get("/admin")
    assert page.status_code == 200
    assert 'data-kpi="liability"' not in page.text
    signed_in("finance")
    assert 'data-kpi="liability"' in client.get("/admin").text


def test_station_staff_do_not_see_the_chains_dashboard(client, signed_in) -> None:
    signed_in("attendant")
    assert client.get("/admin").status_code == 403
