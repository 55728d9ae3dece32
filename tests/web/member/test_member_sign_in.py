"""Drivers sign in to the member pages by SMS code; a new phone becomes a member."""

from __future__ import annotations

from forecourt.members import repository
from forecourt.members.phones import normalise_phone
from tests.members.support import last_code, unique_phone
from tests.web.member.support import member_of, member_sign_in
from tests.web.support import htmx, post_form

MEMBER_PAGES = ("/m", "/m/coupons", "/m/wallet", "/m/history", "/m/profile")


def test_member_pages_send_a_signed_out_driver_to_the_sign_in_page(client):
    for path in MEMBER_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/m/login?next=")
    assert "手机号" in client.get("/m/login").text


def test_a_new_phone_signs_in_by_sms_code_and_becomes_a_member(client, session, pii):
    phone = unique_phone()
    assert repository.by_phone_index(session, pii.phone_index(normalise_phone(phone))) is None
    sent = post_form(client, "/m/login/code", {"phone": phone})
    assert sent.status_code == 200
    assert 'name="code"' in sent.text
    response = post_form(
        client, "/m/login", {"phone": phone, "code": last_code(session, pii, phone)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/m"
    member = member_of(session, pii, phone)
    card = client.get("/m")
    assert card.status_code == 200
    assert member.card_no is not None
    assert member.card_no[:4] in card.text


def test_sign_in_goes_back_to_the_member_page_asked_for_and_nowhere_else(client, session, pii):
    phone = unique_phone()
    post_form(client, "/m/login/code", {"phone": phone})
    code = last_code(session, pii, phone)
    response = post_form(
        client, "/m/login", {"phone": phone, "code": code, "next": "/m/wallet"}, follow_redirects=False
    )
    assert response.headers["location"] == "/m/wallet"
    post_form(client, "/m/logout")
    other = unique_phone()
    post_form(client, "/m/login/code", {"phone": other})
    response = post_form(
        client,
        "/m/login",
        {"phone": other, "code": last_code(session, pii, other), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/m"


def test_a_wrong_code_is_refused_and_the_driver_stays_signed_out(client, session, pii):
    phone = unique_phone()
    post_form(client, "/m/login/code", {"phone": phone})
    right = last_code(session, pii, phone)
    wrong = "000000" if right != "000000" else "111111"
    response = htmx(client, "POST", "/m/login", {"phone": phone, "code": wrong})
    assert response.status_code == 401
    assert response.headers["HX-Retarget"] == "#messages"
    assert "验证码错误或已过期" in response.text
    assert client.get("/m", follow_redirects=False).status_code == 303


def test_a_bad_phone_and_a_second_code_within_a_minute_are_refused_clearly(client, session, pii):
    bad = htmx(client, "POST", "/m/login/code", {"phone": "12345"})
    assert bad.status_code == 400
    assert "不是有效的手机号" in bad.text
    assert 'lang="en"' not in bad.text  # no English detail line on a driver's phone
    phone = unique_phone()
    assert htmx(client, "POST", "/m/login/code", {"phone": phone}).status_code == 200
    again = htmx(client, "POST", "/m/login/code", {"phone": phone})
    assert again.status_code == 429
    assert "不足1分钟" in again.text


def test_signing_out_revokes_the_session(client, session, pii):
    member_sign_in(client, session, pii)
    assert client.get("/m").status_code == 200
    response = post_form(client, "/m/logout", follow_redirects=False)
    assert response.headers["location"] == "/m/login"
    assert client.get("/m", follow_redirects=False).status_code == 303


def test_five_wrong_codes_lock_the_code_and_the_driver_is_told_to_ask_again(client, session, pii):
    phone = unique_phone()
    post_form(client, "/m/login/code", {"phone": phone})
    right = last_code(session, pii, phone)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        htmx(client, "POST", "/m/login", {"phone": phone, "code": wrong})
    locked = htmx(client, "POST", "/m/login", {"phone": phone, "code": right})
    assert locked.status_code == 401
    assert "验证码错误次数过多" in locked.text
    assert client.get("/m", follow_redirects=False).status_code == 303
