"""Coupons in the admin console: templates, printed batches (generated through the issuance
service), the issued → claimed → used funnel, and their Excel exports."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.coupons import batch_list, templates
from tests.fixtures.builders import StaffLogin
from tests.web.admin_program.support import workbook_rows
from tests.web.support import htmx, post_form, sign_in

TEMPLATE = "NEW-100-10"


def _generate(client: TestClient, size: str = "5", note: str = "加油站门口派发") -> str:
    response = htmx(
        client, "POST", f"/admin/coupons/templates/{TEMPLATE}/batches", {"size": size, "note": note}
    )
    assert response.status_code == 204, response.text
    return str(response.headers["HX-Redirect"])


@pytest.mark.parametrize("role", ["admin", "marketing", "finance"])
def test_the_coupon_pages_open_for_roles_that_read_coupons(
    role: str, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role))
    listed = client.get("/admin/coupons")
    assert listed.status_code == 200
    assert f'data-template="{TEMPLATE}"' in listed.text
    assert "新人券 满100减10" in listed.text
    assert client.get(f"/admin/coupons/templates/{TEMPLATE}").status_code == 200
    assert client.get("/admin/coupons/batches").status_code == 200
    assert client.get("/admin/coupons/funnel").status_code == 200


@pytest.mark.parametrize("role", ["attendant", "service", "station_manager"])
def test_the_coupon_pages_are_refused_to_roles_without_coupons_read(
    role: str, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role))
    for path in ("/admin/coupons", f"/admin/coupons/templates/{TEMPLATE}", "/admin/coupons/funnel"):
        assert client.get(path).status_code == 403, path


def test_marketing_generates_a_printed_batch_and_downloads_its_codes(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    before = templates.issued_counts(session).get(templates.get_template(session, TEMPLATE).id, 0)
    sign_in(client, staff("marketing"))
    target = _generate(client)
    assert target.startswith("/admin/coupons/batches/")
    page = client.get(target)
    assert "已生成 5 个券码" in page.text
    assert 'data-testid="batch-size">5<' in page.text
    assert 'data-testid="batch-claimed">0<' in page.text
    template_id = templates.get_template(session, TEMPLATE).id
    assert templates.issued_counts(session).get(template_id, 0) == before + 5
    batches, total = batch_list.list_batches(session, template=TEMPLATE)
    assert total == 1
    assert batches[0].note == "加油站门口派发"
    codes = post_form(client, f"{target.split('?')[0]}/codes.csv")
    assert codes.status_code == 200
    lines = codes.text.strip().splitlines()
    assert lines[0] == "code,template,status,expires_at"
    assert len(lines) == 6


def test_a_batch_of_no_codes_is_refused_and_nothing_is_generated(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    for size in ("0", "lots", "100001"):
        response = htmx(client, "POST", f"/admin/coupons/templates/{TEMPLATE}/batches", {"size": size})
        assert response.status_code == 400, size
        assert 'data-error-code="invalid_request"' in response.text
    assert batch_list.list_batches(session)[1] == 0


def test_finance_sees_batches_but_may_not_generate_them(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("finance"))
    page = client.get(f"/admin/coupons/templates/{TEMPLATE}")
    assert 'data-testid="batch-form"' not in page.text
    refused = post_form(client, f"/admin/coupons/templates/{TEMPLATE}/batches", {"size": "5"})
    assert refused.status_code == 403
    assert batch_list.list_batches(session)[1] == 0


def test_the_funnel_follows_the_batch_and_exports_to_excel(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    _generate(client, size="4")
    _generate(client, size="3")
    by_template = client.get("/admin/coupons/funnel?by=template")
    row = by_template.text.split(f'data-key="{TEMPLATE}"')[1].split("</tr>")[0]
    assert '<td class="num">7</td>' in row
    rows = workbook_rows(client.get("/admin/coupons/funnel.xlsx?by=channel"))
    assert rows[0] == ("分组", "已发放", "已领取", "已核销", "成本(元)")
    assert rows[1:] == [("批量印制", 7, 0, 0, 0)]
    assert client.get("/admin/coupons/funnel?date_from=2026-02-30").status_code == 400


def test_templates_and_batches_export_to_excel(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    _generate(client, size="2")
    listed = workbook_rows(client.get("/admin/coupons/templates.xlsx?status=active"))
    assert {row[0] for row in listed[1:]} == {
        t.code for t in templates.list_templates(session, status="active")
    }
    batches = workbook_rows(client.get("/admin/coupons/batches.xlsx"))
    assert len(batches) == 2
    assert batches[1][1:5] == (TEMPLATE, "批量印制", 2, 0)
