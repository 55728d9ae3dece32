"""Head office journeys in a real browser: maker–checker points adjustment across two staff members,
and the dashboard drawing its ECharts charts under the Content-Security-Policy."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from forecourt.ledger import points
from tests.e2e.conftest import LiveServer, console_problems, screenshot
from tests.fixtures.builders import PASSWORD, make_staff
from tests.members.support import earn_points, make_member, unique_phone


def _sign_in(page: Page, username: str, next_path: str = "/admin") -> None:
    page.goto(f"/admin/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def _sign_out(page: Page) -> None:
    page.click("form[action='/admin/logout'] button")
    page.wait_for_url("**/admin/login**")


def test_a_finance_user_approves_an_adjustment_requested_by_service_staff(
    desk: Page, live_server: LiveServer
) -> None:
    with live_server.session() as session:
        service = make_staff(session, "service")
        finance = make_staff(session, "finance")
        phone = unique_phone()
        member = make_member(session, live_server.app.state.pii, phone=phone)  # no plate: no reward racing in
        session.commit()
    member_page = f"/admin/members/{member.id}"

    _sign_in(desk, service.user.username, "/admin/members")
    desk.fill("input[name=phone]", phone)
    desk.press("input[name=phone]", "Enter")
    result = desk.locator(f"[data-testid=member-results] tr[data-member-id='{member.id}']")
    expect(result).to_have_count(1)
    assert phone not in desk.locator("[data-testid=member-results]").inner_text()  # masked
    assert phone not in desk.url
    result.locator("a").click()
    desk.wait_for_url(f"**{member_page}")
    form = desk.locator("[data-testid=adjustment-form]")
    form.locator("input[name=amount]").fill("500")
    form.locator("input[name=reason]").fill("加油未积分，补录")
    form.locator("button[type=submit]").click()
    expect(desk.locator("[data-testid=adjustment-requested]")).to_be_visible()
    expect(desk.locator("#member-adjustments tr[data-status=pending]")).to_have_count(1)
    _sign_out(desk)

    _sign_in(desk, finance.user.username, "/admin/adjustments")
    row = desk.locator("#adjustment-queue tr[data-status=pending]").filter(has_text="加油未积分")
    expect(row).to_have_count(1)
    row.locator("[data-testid=approve]").click()
    expect(desk.locator("[data-testid=adjustment-decided]")).to_be_visible()
    desk.goto(member_page)

    expect(desk.locator("[data-testid=points-available]")).to_have_text("500")
    expect(desk.locator("[data-testid=member-ledger] tbody tr")).to_have_count(1)
    with live_server.session() as session:
        assert points.balances(session, member.id).available == 500
    assert console_problems(desk) == []
    screenshot(desk, "admin-adjustment-approved", live_server.db_kind)


def test_the_dashboard_renders_its_charts(desk: Page, live_server: LiveServer) -> None:
    with live_server.session() as session:
        admin = make_staff(session, "admin")
        someone = make_member(session, live_server.app.state.pii)
        earn_points(session, live_server.app.state.ledger_signer, someone.id, 800)
        session.commit()

    _sign_in(desk, admin.user.username, "/admin")
    charts = desk.locator("[data-chart]")
    expect(charts.first).to_be_visible()
    count = charts.count()
    assert count >= 4
    expect(desk.locator("[data-chart-ready=true]")).to_have_count(count)

    for index in range(count):
        assert charts.nth(index).locator("svg").count() >= 1
    assert console_problems(desk) == []
    screenshot(desk, "admin-dashboard", live_server.db_kind)
