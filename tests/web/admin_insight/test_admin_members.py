"""Finding a member (POST search, masked results), the member's page with points, coupons, wallet,
tier and audit trail, revealing personal data (audited), and the Excel exports."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from forecourt.audit.models import AuditEntry
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.wallet import service as wallet
from tests.coupons.support import give_coupon, make_template
from tests.members.support import earn_points, unique_phone, unique_plate
from tests.web.admin_insight.support import workbook_rows
from tests.web.support import csrf_of, htmx, post_form


def test_service_staff_find_a_member_by_plate_and_see_them_masked(client, signed_in, member) -> None:
    plate = unique_plate()
    phone = unique_phone()
    found = member(phone=phone, name="王小明", plates=(plate,))
    member()  # someone else
    signed_in("service")

    answer = htmx(client, "POST", "/admin/members/search", {"plate": plate})

    assert answer.status_code == 200
    assert f'data-member-id="{found.id}"' in answer.text
    assert answer.text.count("data-member-id=") == 1
    assert phone not in answer.text
    assert f"{phone[:3]}****{phone[-4:]}" in answer.text
    assert "王小明" not in answer.text


def test_an_attendant_finds_a_member_by_phone(client, signed_in, member) -> None:
    phone = unique_phone()
    found = member(phone=phone)
    signed_in("attendant")

    answer = htmx(client, "POST", "/admin/members/search", {"phone": phone})

    assert f'data-member-id="{found.id}"' in answer.text


def test_the_search_is_a_post_so_no_phone_or_plate_lands_in_a_url(client, signed_in) -> None:
    signed_in("service")

    page = client.get("/admin/members")

    assert page.status_code == 200
    assert 'method="post" action="/admin/members/search"' in page.text
    assert client.get("/admin/members/search", params={"phone": "13900000000"}).status_code in (405, 422)


def test_a_search_without_the_csrf_token_is_refused(client, signed_in, member) -> None:
    signed_in("service")

    answer = client.post("/admin/members/search", data={"plate": unique_plate()})

    assert answer.status_code == 403


def test_a_phone_that_is_not_a_mobile_number_says_so_and_finds_nobody(client, signed_in) -> None:
    signed_in("service")

    answer = htmx(client, "POST", "/admin/members/search", {"phone": "12"})

    assert answer.status_code == 400
    assert answer.headers["HX-Retarget"] == "#messages"
    assert 'class="notice notice-error"' in answer.text
    assert "data-member-id=" not in answer.text


def test_the_search_results_export_to_excel_masked(client, signed_in, member) -> None:
    plate = unique_plate()
    phone = unique_phone()
    found = member(phone=phone, plates=(plate,))
    signed_in("service")

    answer = post_form(client, "/admin/members/export", {"plate": plate})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = workbook_rows(answer.content)
    assert len(rows) == 2
    assert rows[1][0] == found.card_no
    assert rows[1][2] == f"{phone[:3]}****{phone[-4:]}"
    assert rows[1][3] == plate


def test_the_member_page_shows_points_lots_ledger_coupons_wallet_and_tier(
    client, session, signed_in, member, signer
) -> None:
    someone = member(plates=(unique_plate(),))
    earn_points(session, signer, someone.id, 1_200)
    give_coupon(session, someone, make_template(session).code, utcnow())
    wallet.top_up(
        session, signer, SYSTEM, someone.id, 10_000, method="cash", idempotency_key=f"t-{someone.id}"
    )
    session.flush()
    signed_in("finance")

    page = client.get(f"/admin/members/{someone.id}")

    assert page.status_code == 200
    html = page.text
    assert 'data-testid="points-available">1,200<' in html
    assert 'data-testid="wallet-balance">¥100.00<' in html
    assert 'data-testid="member-ledger"' in html
    assert 'data-testid="member-coupons"' in html
    assert 'data-testid="member-wallet"' in html
    assert 'data-masked="true"' in html
    assert 'data-testid="reveal"' not in html  # finance may not see personal data
    assert 'data-testid="adjustment-form"' not in html  # nor ask for adjustments


def test_the_ledger_shows_25_postings_a_page_and_exports_them_all(
    client, session, signed_in, member, signer
) -> None:
    someone = member()
    for n in range(27):
        earn_points(session, signer, someone.id, 10 + n)
    signed_in("service")

    first = client.get(f"/admin/members/{someone.id}")
    older = re.search(r'href="(/admin/members/[^"]+\?cursor=[^"]+)" data-testid="ledger-older"', first.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    export = client.get(f"/admin/members/{someone.id}/ledger.xlsx")

    assert first.text.count("<code>fueling</code>") == 25
    assert 'data-testid="ledger-older"' not in second.text
    assert second.text.count("<code>fueling</code>") == 2
    rows = workbook_rows(export.content)
    assert len(rows) == 28
    assert sorted(row[2] for row in rows[1:]) == list(range(10, 37))


def test_revealing_a_members_personal_data_is_audited(client, session, signed_in, member) -> None:
    phone = unique_phone()
    someone = member(phone=phone, name="李四")
    who = signed_in("service")

    page = client.get(f"/admin/members/{someone.id}")
    shown = htmx(client, "POST", f"/admin/members/{someone.id}/reveal")

    assert 'data-testid="reveal"' in page.text
    assert phone not in page.text
    assert shown.status_code == 200
    assert phone in shown.text
    assert "李四" in shown.text
    audits = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "member.reveal", AuditEntry.entity_id == str(someone.id)
        )
    ).all()
    assert [a.actor_label for a in audits] == [who.user.username]


def test_staff_without_the_personal_data_permission_cannot_reveal(client, session, signed_in, member) -> None:
    someone = member()
    signed_in("attendant")

    answer = htmx(client, "POST", f"/admin/members/{someone.id}/reveal")

    assert answer.status_code == 403
    assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "member.reveal")).all()


def test_a_partner_cannot_open_members(client, signed_in, member) -> None:
    someone = member()
    signed_in("partner")

    assert client.get("/admin/members").status_code == 403
    assert client.get(f"/admin/members/{someone.id}").status_code == 403


def test_an_unknown_member_is_a_not_found_page(client, signed_in) -> None:
    signed_in("service")

    answer = client.get("/admin/members/00000000-0000-0000-0000-000000000000")

    assert answer.status_code == 404


def test_the_member_page_in_english(client, signed_in, member) -> None:
    someone = member()
    signed_in("service")
    csrf_of(client)

    client.get(f"/lang/en?next=/admin/members/{someone.id}")
    page = client.get(f"/admin/members/{someone.id}")

    assert "Points ledger" in page.text
    assert "Request adjustment" in page.text
