"""The audit log: filters in the query string, pages of 25, and the filtered rows in Excel."""

from __future__ import annotations

from forecourt.audit import service as audit
from forecourt.kit.actor import Actor
from tests.web.admin_insight.support import workbook_rows

CLERK = Actor(kind="staff", id="clerk-1", label="clerk-1", role="service")


def _record(session, n: int, action: str = "test.poke") -> None:
    for i in range(n):
        audit.record(session, CLERK, action, "thing", f"thing-{i}", after={"n": i})
    session.flush()


def test_the_admin_filters_the_audit_log_by_action_and_pages_through_it(client, session, signed_in) -> None:
    _record(session, 30)
    _record(session, 2, action="test.other")
    signed_in("admin")

    first = client.get("/admin/audit", params={"action": "test.poke"})
    second = client.get("/admin/audit", params={"action": "test.poke", "page": "2"})

    assert first.status_code == 200
    assert first.text.count('data-action="test.poke"') == 25
    assert 'data-action="test.other"' not in first.text
    assert second.text.count('data-action="test.poke"') == 5
    assert "/admin/audit?action=test.poke&amp;page=2" in first.text


def test_the_filtered_rows_export_to_excel(client, session, signed_in) -> None:
    _record(session, 3)
    _record(session, 4, action="test.other")
    signed_in("admin")

    export = client.get("/admin/audit.xlsx", params={"action": "test.other", "actor": "clerk-1"})

    assert export.status_code == 200
    rows = workbook_rows(export.content)
    assert len(rows) == 5
    assert {row[1] for row in rows[1:]} == {"test.other"}
    assert sorted(row[5] for row in rows[1:]) == ["thing-0", "thing-1", "thing-2", "thing-3"]


def test_a_date_range_keeps_only_the_days_asked(client, session, signed_in) -> None:
    _record(session, 2)
    signed_in("admin")

    old = client.get(
        "/admin/audit", params={"action": "test.poke", "date_from": "2020-01-01", "date_to": "2020-01-31"}
    )

    assert 'data-action="test.poke"' not in old.text


def test_finance_cannot_read_the_audit_log(client, signed_in) -> None:
    signed_in("finance")

    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.xlsx").status_code == 403
