"""The frame in a real browser: pages load their vendored scripts under the CSP, no script errors."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.conftest import LiveServer, console_problems, no_horizontal_scroll, screenshot


def test_the_login_page_runs_its_scripts_under_the_content_security_policy(
    desk: Page, live_server: LiveServer
) -> None:
    desk.goto("/admin/login")
    assert desk.locator("h1").inner_text() == "总部管理后台"
    assert desk.evaluate("typeof window.htmx") == "object"
    desk.click("a[data-lang=en]")
    assert desk.locator("h1").inner_text() == "Head office console"
    assert console_problems(desk) == []
    screenshot(desk, "frame-login", live_server.db_kind)


def test_the_member_login_fits_a_phone(phone: Page, live_server: LiveServer) -> None:
    phone.goto("/m/login")
    assert no_horizontal_scroll(phone)
    assert console_problems(phone) == []
