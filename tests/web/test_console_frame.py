"""The consoles' frame: staff sign-in, CSRF, security headers, languages, translations."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.auth.models import StaffToken
from forecourt.web import catalog
from forecourt.web.security import safe_next
from tests.fixtures.builders import PASSWORD, StaffLogin
from tests.web.support import csrf_of, post_form, sign_in


def test_a_signed_out_visitor_is_sent_to_the_login_page_and_back(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    login = staff("admin")
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin"

    response = client.post(
        "/admin/login",
        data={
            "username": login.user.username,
            "password": PASSWORD,
            "next": "/admin/members",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/members"


def test_a_wrong_password_shows_the_form_again_with_the_reason(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    login = staff("finance")
    response = post_form(client, "/admin/login", {"username": login.user.username, "password": "wrong"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_signing_out_revokes_the_token(
    client: TestClient, staff: Callable[..., StaffLogin], session: Session
) -> None:
    login = staff("admin")
    sign_in(client, login)
    before = session.scalar(
        select(func.count())
        .select_from(StaffToken)
        .where(StaffToken.user_id == login.user.id, StaffToken.revoked_at.is_(None))
    )
    response = post_form(client, "/admin/logout", follow_redirects=False)
    assert response.status_code == 303
    after = session.scalar(
        select(func.count())
        .select_from(StaffToken)
        .where(StaffToken.user_id == login.user.id, StaffToken.revoked_at.is_(None))
    )
    assert after == (before or 0) - 1
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    login = staff("admin")
    csrf_of(client)  # the session exists and has a token; the form just does not send it
    response = client.post(
        "/admin/login",
        data={"username": login.user.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert 'data-error-code="csrf_failed"' in response.text
    assert client.get("/admin", follow_redirects=False).status_code == 303

    response = client.post(
        "/admin/login",
        data={"username": login.user.username, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_console_pages_carry_a_strict_content_security_policy_and_the_api_does_not(
    client: TestClient,
) -> None:
    page = client.get("/admin/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # no inline script anywhere in the frame
    assert "style=" not in page.text
    assert "content-security-policy" not in client.get("/api/v1/health").headers


def test_the_session_cookie_is_http_only_and_same_site(client: TestClient) -> None:
    response = client.get("/admin/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_chinese_is_the_default_and_english_is_one_click_away(client: TestClient) -> None:
    page = client.get("/admin/login")
    assert '<html lang="zh-CN">' in page.text
    assert "总部管理后台" in page.text

    page = client.get("/lang/en?next=/admin/login")
    assert '<html lang="en">' in page.text
    assert "Head office console" in page.text
    assert "总部管理后台" not in page.text

    page = client.get("/lang/zh_CN?next=/admin/login")
    assert "总部管理后台" in page.text


def test_a_browser_asking_for_english_gets_english_until_it_chooses(client: TestClient) -> None:
    page = client.get("/station/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Station console" in page.text


def test_the_language_switch_only_goes_back_to_this_site() -> None:
    assert safe_next("/admin/members", "/") == "/admin/members"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert safe_next(outside, "/") == "/"


def test_every_visible_string_has_a_chinese_translation() -> None:
    gaps = catalog.missing()
    assert not gaps, "untranslated: " + "; ".join(f"{m.where} {m.msgid!r}" for m in gaps[:20])


def test_errors_on_console_pages_are_pages_and_htmx_gets_a_fragment(client: TestClient) -> None:
    response = client.post("/admin/login", data={}, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#messages"
    assert "<html" not in response.text
    assert 'data-error-code="csrf_failed"' in response.text


def test_an_error_reads_in_chinese_with_the_specific_reason_kept(client: TestClient) -> None:
    response = client.post("/admin/login", data={}, headers={"HX-Request": "true"})
    assert "表单已过期或并非来自本站" in response.text
    english = client.get("/lang/en?next=/admin/login")
    assert english.status_code == 200
    response = client.post("/admin/login", data={}, headers={"HX-Request": "true"})
    assert "The form is out of date" in response.text


def test_excel_exports_keep_typed_text_as_text() -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from forecourt.web.tables import xlsx_response

    response = xlsx_response("notes", ["note", "points"], [['=HYPERLINK("http://x")', 5], ["-3 points", -3]])
    sheet = load_workbook(BytesIO(response.body)).active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ['\'=HYPERLINK("http://x")', 5]
    assert [c.value for c in sheet[3]] == ["'-3 points", -3]
