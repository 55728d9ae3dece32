"""The program in the admin console: tiers, earning rules, the basket preview (the default program's
numbers), the back-test of a rule as a draft, and retiring / re-activating / re-prioritising rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.rules import service as rules
from tests.fixtures.builders import StaffLogin
from tests.pos.support import Terminal, fuel
from tests.web.admin_program.support import SATURDAY, WEDNESDAY, last_local, local_input, workbook_rows
from tests.web.support import htmx, post_form, sign_in


def _breakdown(html: str) -> dict[str, str]:
    table = html.split('data-testid="preview-breakdown"')[1].split("</tbody>")[0]
    found = {}
    for row in table.split('<tr data-rule="')[1:]:
        code = row.split('"')[0]
        found[code] = row.split('<td class="num">')[1].split("<")[0]
    return found


def _total(html: str) -> str:
    return html.split('data-testid="preview-total">')[1].split("<")[0]


@pytest.mark.parametrize("role", ["admin", "marketing", "finance"])
def test_the_program_pages_open_for_roles_that_read_rules(
    role: str, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role))
    tiers = client.get("/admin/program")
    assert tiers.status_code == 200
    silver = tiers.text.split('data-tier="silver"')[1].split("</tr>")[0]
    assert "银牌" in silver
    assert "¥2,000" in silver
    assert "× 1.20" in silver
    assert "2.0%" in silver
    assert "积分永不过期" in tiers.text.split('data-tier="diamond"')[1].split("</tr>")[0]
    listed = client.get("/admin/program/rules")
    assert 'data-rule="saturday-double"' in listed.text
    assert "周六双倍积分" in listed.text
    detail = client.get("/admin/program/rules/saturday-double")
    assert detail.status_code == 200
    assert "basket.weekday == 6" in detail.text
    assert 'data-testid="rule-versions"' in detail.text
    check_in = client.get("/admin/program/rules/daily-check-in")
    assert "赠送 5 积分" in check_in.text
    assert 'data-testid="backtest-form"' not in check_in.text
    events = client.get("/admin/program/rules?trigger=check_in")
    assert 'data-rule="daily-check-in"' in events.text
    assert 'data-rule="base-rate"' not in events.text


@pytest.mark.parametrize("role", ["attendant", "service", "partner"])
def test_the_program_pages_are_refused_to_roles_without_rules_read(
    role: str, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role))
    for path in ("/admin/program", "/admin/program/rules", "/admin/program/rules/base-rate"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert 'data-error-code="permission_denied"' in response.text


def test_a_saturday_95_basket_earns_double_and_silver_adds_its_multiplier(
    client: TestClient, terminal: Terminal, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    saturday = local_input(last_local(SATURDAY))
    form = {"station": terminal.station, "grade": "95", "liters": "40.00", "at": saturday}
    regular = htmx(client, "POST", "/admin/program/preview", {**form, "tier": "regular"})
    assert regular.status_code == 200, regular.text
    assert _breakdown(regular.text) == {"base-rate": "320", "premium-grades-double": "320"}
    assert _total(regular.text) == "640"
    silver = htmx(client, "POST", "/admin/program/preview", {**form, "tier": "silver"})
    # ¥320 − 2% = ¥313.60 → 313 × 2 (Saturday and 95#: only one counts) × 1.2 = 752
    assert _breakdown(silver.text) == {
        "base-rate": "313",
        "premium-grades-double": "314",
        "tier:silver": "125",
    }
    assert _total(silver.text) == "752"
    assert "¥313.60" in silver.text


def test_a_preview_by_amount_buys_the_litres_the_price_gives(
    client: TestClient, terminal: Terminal, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("finance"))
    wednesday = local_input(last_local(WEDNESDAY))
    response = htmx(
        client,
        "POST",
        "/admin/program/preview",
        {
            "station": terminal.station,
            "grade": "92",
            "amount_yuan": "300",
            "tier": "regular",
            "at": wednesday,
        },
    )
    assert "40.00 × ¥7.50 = ¥300.00" in response.text
    assert _breakdown(response.text) == {"base-rate": "300"}


def test_a_preview_without_litres_or_amount_says_what_is_missing(
    client: TestClient, terminal: Terminal, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    response = htmx(client, "POST", "/admin/program/preview", {"station": terminal.station, "grade": "92"})
    assert response.status_code == 400
    assert 'data-error-code="invalid_request"' in response.text
    assert "请填写升数或金额" in response.text


def test_the_back_test_answers_what_a_higher_base_rate_would_have_cost(
    client: TestClient,
    terminal: Terminal,
    member: Callable[..., Member],
    staff: Callable[..., StaffLogin],
) -> None:
    driver = member()
    for hour in (9, 18):
        moment = last_local(WEDNESDAY, hour)
        sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=moment))
        assert sale.status_code == 201, sale.json()
    sign_in(client, staff("marketing"))
    response = htmx(client, "POST", "/admin/program/rules/base-rate/backtest", {"days": "30", "value": "2"})
    assert response.status_code == 200, response.text
    # two sales of ¥300 at 1 more point per yuan
    assert 'data-testid="backtest-points">600<' in response.text
    assert 'data-testid="backtest-members">1<' in response.text
    assert 'data-testid="backtest-sales">2<' in response.text


def test_an_unchanged_active_rule_back_tests_to_nothing_more(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    response = htmx(client, "POST", "/admin/program/rules/saturday-double/backtest", {"days": "7"})
    assert 'data-testid="backtest-points">0<' in response.text
    assert "不作修改不会产生额外成本" in response.text
    bad = htmx(client, "POST", "/admin/program/rules/saturday-double/backtest", {"days": "999"})
    assert bad.status_code == 400


def test_marketing_retires_a_rule_and_makes_it_active_again(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    retired = htmx(
        client, "POST", "/admin/program/rules/saturday-double/status", {"status": "retired", "version": "1"}
    )
    assert retired.status_code == 204
    assert rules.get_rule(session, "saturday-double").status == "retired"
    stale = htmx(
        client, "POST", "/admin/program/rules/saturday-double/status", {"status": "active", "version": "1"}
    )
    assert stale.status_code == 409
    assert 'data-error-code="rule_version_conflict"' in stale.text
    again = htmx(
        client, "POST", "/admin/program/rules/saturday-double/status", {"status": "active", "version": "2"}
    )
    assert again.status_code == 204
    assert rules.get_rule(session, "saturday-double").status == "active"
    page = client.get("/admin/program/rules/saturday-double")
    assert page.text.count('<tr><td class="num">') == 3


def test_the_priority_of_a_rule_changes_and_bad_numbers_are_refused(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("admin"))
    assert (
        htmx(
            client, "POST", "/admin/program/rules/birthday-week-double/priority", {"priority": "20"}
        ).status_code
        == 204
    )
    assert rules.get_rule(session, "birthday-week-double").priority == 20
    refused = htmx(client, "POST", "/admin/program/rules/birthday-week-double/priority", {"priority": "5000"})
    assert refused.status_code == 400
    assert rules.get_rule(session, "birthday-week-double").priority == 20


def test_finance_reads_rules_but_may_not_change_them(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("finance"))
    page = client.get("/admin/program/rules/base-rate")
    assert 'data-testid="rule-manage"' not in page.text
    refused = post_form(client, "/admin/program/rules/base-rate/status", {"status": "retired"})
    assert refused.status_code == 403
    assert rules.get_rule(session, "base-rate").status == "active"
    assert client.get("/admin/program/rules.yaml").status_code == 403


def test_rules_export_to_excel_and_yaml(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff("marketing"))
    rows = workbook_rows(client.get("/admin/program/rules.xlsx?trigger=purchase"))
    purchase = {r.code for r in rules.list_rules(session, trigger="purchase")}
    assert rows[0][:3] == ("编码", "名称", "触发方式")
    assert {row[0] for row in rows[1:]} == purchase
    yaml = client.get("/admin/program/rules.yaml")
    assert yaml.status_code == 200
    assert "forecourt.rules/v1" in yaml.text
    assert "saturday-double" in yaml.text
