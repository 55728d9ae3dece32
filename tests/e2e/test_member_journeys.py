"""Drivers on their phones (375 px): sign in by SMS code, the card's QR code, every member page fits
the screen in Chinese and in English, and a sandbox top-up lands in the wallet."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, console_problems, no_horizontal_scroll, screenshot
from tests.members.support import unique_phone

MEMBER_PAGES = {
    "/m": "card",
    "/m/coupons": "coupons",
    "/m/wallet": "wallet",
    "/m/history": "history",
    "/m/profile": "profile",
    "/m/coupons?tab=used": "coupons-used",
    "/m/history?tab=points": "points",
    "/m/profile/delete": "delete-account",
}


def sign_in(phone: Page, live_server: LiveServer, number: str) -> None:
    """From a member page: the sign-in page, the phone, the code texted to it, back to the page."""
    phone.fill("[data-testid=phone]", number)
    phone.click("[data-testid=send-code]")
    expect(phone.locator("[data-testid=code]")).to_be_visible()
    phone.fill("[data-testid=code]", live_server.last_sms_code(f"+86{number}"))
    phone.click("[data-testid=sign-in]")


def test_a_member_logs_in_by_sms_code_and_sees_the_qr_code(phone: Page, live_server: LiveServer) -> None:
    phone.goto("/m")
    expect(phone).to_have_url(re.compile(r"/m/login\?next=/m$"))
    assert no_horizontal_scroll(phone)
    sign_in(phone, live_server, unique_phone())
    expect(phone).to_have_url(re.compile(r"/m$"))
    qr = phone.locator("[data-testid=member-qr]")
    expect(qr).to_be_visible()
    assert phone.evaluate("document.querySelector('[data-testid=member-qr]').naturalWidth") > 0
    expect(phone.locator("[data-testid=member-code-digits]")).to_have_text(
        re.compile(r"^66\d{4} \d{6} \d{6}$")
    )
    expect(phone.locator("[data-testid=tier-nudge]")).to_contain_text("再消费")
    screenshot(phone, "member-card", live_server.db_kind)

    for language in ("zh", "en"):
        if language == "en":
            phone.click("a[data-lang=en]")
            expect(phone.locator("html")).to_have_attribute("lang", "en")
        for path, name in MEMBER_PAGES.items():
            phone.goto(path)
            expect(phone.locator("nav.m-tabs")).to_be_visible()
            assert no_horizontal_scroll(phone), f"{path} scrolls sideways ({language})"
            screenshot(phone, f"member-{name}-{language}", live_server.db_kind)
    assert console_problems(phone) == []


def test_a_member_tops_up_in_the_sandbox_and_sees_the_new_balance(
    phone: Page, live_server: LiveServer
) -> None:
    number = unique_phone()
    phone.goto("/m/wallet")
    sign_in(phone, live_server, number)
    expect(phone).to_have_url(re.compile(r"/m/wallet$"))
    expect(phone.locator("[data-testid=wallet-balance]")).to_have_text("¥0.00")
    phone.click("[data-testid=amount-50000] >> xpath=..")
    phone.click("[data-testid=top-up-submit]")
    phone.wait_for_url(re.compile(r"/m/wallet/(device|pay/)"))
    if "/m/wallet/device" in phone.url:  # the browser is new for payments: the SMS step-up
        phone.click("[data-testid=device-send-code]")
        expect(phone.locator("[data-testid=device-code]")).to_be_visible()
        phone.fill("[data-testid=device-code]", live_server.last_sms_code(f"+86{number}"))
        phone.click("[data-testid=device-verify]")
        expect(phone).to_have_url(re.compile(r"/m/wallet\?device=verified$"))
        phone.click("[data-testid=amount-50000] >> xpath=..")
        phone.click("[data-testid=top-up-submit]")
    expect(phone).to_have_url(re.compile(r"/m/wallet/pay/"))
    assert no_horizontal_scroll(phone)
    phone.click("[data-testid=pay]")
    expect(phone.locator("[data-testid=paid]")).to_be_visible()
    expect(phone.locator("[data-testid=balance-after]")).to_have_text("¥550.00")
    phone.goto("/m/wallet")
    expect(phone.locator("[data-testid=wallet-balance]")).to_have_text("¥550.00")
    expect(phone.locator("[data-testid=wallet-entry]").first).to_contain_text("充值")
    assert no_horizontal_scroll(phone)
    assert console_problems(phone) == []
    screenshot(phone, "member-wallet-topped-up", live_server.db_kind)
