"""Staff and roles in the admin console: accounts, creating one, changing its role and station,
disabling it, signing it out everywhere (all through auth.service, audited), and each role's
permissions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.auth import service as auth
from tests.fixtures.builders import PASSWORD, StaffLogin, make_station
from tests.web.admin_program.support import workbook_rows
from tests.web.support import htmx, post_form, sign_in


def test_an_admin_creates_a_station_manager_then_disables_the_account(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = make_station(session)
    sign_in(client, staff("admin"))
    created = htmx(
        client,
        "POST",
        "/admin/staff",
        {
            "username": "Wang.Zhan",
            "display_name": "王站长",
            "password": PASSWORD,
            "role": "station_manager",
            "station": station.code,
        },
    )
    assert created.status_code == 204, created.text
    user = auth.get_user_by_username(session, "wang.zhan")
    assert (user.role, user.station_id, user.is_active) == ("station_manager", station.id, True)
    page = client.get(created.headers["HX-Redirect"])
    assert "账号已创建" in page.text
    assert station.code in page.text
    listed = client.get("/admin/staff?role=station_manager")
    assert 'data-username="wang.zhan"' in listed.text

    disabled = htmx(client, "POST", f"/admin/staff/{user.id}/active", {"active": "false"})
    assert disabled.status_code == 204
    session.expire_all()
    assert auth.get_user(session, user.id).is_active is False
    assert "已停用" in client.get(f"/admin/staff/{user.id}").text
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == str(user.id)).order_by(AuditEntry.occurred_at)
    ).all()
    assert list(actions) == ["staff.create", "staff.update"]


def test_a_station_bound_role_without_a_station_is_refused(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("admin"))
    response = htmx(
        client, "POST", "/admin/staff", {"username": "li.si", "password": PASSWORD, "role": "attendant"}
    )
    assert response.status_code == 400
    assert 'data-error-code="invalid_staff_account"' in response.text
    weak = htmx(
        client, "POST", "/admin/staff", {"username": "li.si", "password": "short", "role": "marketing"}
    )
    assert 'data-error-code="weak_password"' in weak.text
    assert "li.si" not in client.get("/admin/staff").text


def test_changing_the_role_moves_the_account_and_signs_it_out(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    worker = staff("attendant")
    sign_in(client, staff("admin"))
    response = htmx(
        client, "POST", f"/admin/staff/{worker.user.id}/access", {"role": "marketing", "station": ""}
    )
    assert response.status_code == 204
    session.expire_all()
    user = auth.get_user(session, worker.user.id)
    assert (user.role, user.station_id) == ("marketing", None)
    assert client.get("/api/v1/auth/me", headers=worker.headers).status_code == 401


def test_revoking_tokens_signs_the_account_out_everywhere(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    worker = staff("finance")
    sign_in(client, staff("admin"))
    assert htmx(client, "POST", f"/admin/staff/{worker.user.id}/revoke").status_code == 204
    assert client.get("/api/v1/auth/me", headers=worker.headers).status_code == 401


def test_an_admin_cannot_take_away_their_own_access(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    me = staff("admin")
    sign_in(client, me)
    response = htmx(client, "POST", f"/admin/staff/{me.user.id}/active", {"active": "false"})
    assert 'data-error-code="cannot_change_own_access"' in response.text
    session.expire_all()
    assert auth.get_user(session, me.user.id).is_active is True


@pytest.mark.parametrize("role", ["marketing", "finance", "station_manager", "service"])
def test_only_staff_managers_open_the_staff_pages(
    role: str, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role))
    assert client.get("/admin/staff").status_code == 403
    assert client.get("/admin/staff/roles").status_code == 403
    assert (
        post_form(
            client, "/admin/staff", {"username": "x", "password": PASSWORD, "role": "admin"}
        ).status_code
        == 403
    )


def test_the_roles_page_lists_each_roles_permissions_in_chinese(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("admin"))
    page = client.get("/admin/staff/roles")
    finance = page.text.split('data-role="finance"')[1].split("</section>")[0]
    assert "审批他人的积分调整" in finance
    assert 'data-permission="rules:manage"' not in finance
    attendant = page.text.split('data-role="attendant"')[1].split("</section>")[0]
    assert "绑定油站" in attendant


def test_the_accounts_export_to_excel(client: TestClient, staff: Callable[..., StaffLogin]) -> None:
    marketer = staff("marketing")
    sign_in(client, staff("admin"))
    rows = workbook_rows(client.get("/admin/staff.xlsx?role=marketing"))
    assert rows[0][:3] == ("用户名", "名称", "角色")
    assert (marketer.user.username, "市场营销") in [(row[0], row[2]) for row in rows[1:]]
