"""Finance: points liability, the wallet funds flow with its Excel workbook, and the reconciliation
queue where finance resolves differences (the service's refusals shown in the page)."""

from __future__ import annotations

from datetime import timedelta

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_date, utcnow
from forecourt.ledger import liability
from forecourt.reconciliation import service as reconciliation
from forecourt.reconciliation.models import ReconciliationItem
from forecourt.wallet import service as wallet
from tests.members.support import earn_points
from tests.reconciliation.support import paid_intent, wechat_bill
from tests.reconciliation.test_reconciliation import DAY, at, upload
from tests.web.admin_insight.support import chart_data, workbook_rows
from tests.web.support import htmx


def test_finance_sees_the_points_outstanding_and_the_daily_snapshots(
    client, session, signed_in, member, signer
) -> None:
    earn_points(session, signer, member().id, 2_500)
    liability.take_snapshot(session, chain_date(utcnow()), 1_000)
    signed_in("finance")

    page = client.get("/admin/finance")

    assert page.status_code == 200
    assert 'data-kpi="available">2,500<' in page.text
    assert 'data-kpi="liability">¥25.00<' in page.text
    assert 'data-testid="liability-snapshots"' in page.text
    assert chart_data(page.text, "chart-liability")["series"][0]["data"][-1] == 2_500


def test_service_staff_cannot_open_finance(client, signed_in) -> None:
    signed_in("service")

    assert client.get("/admin/finance").status_code == 403
    assert client.get("/admin/finance/funds").status_code == 403
    assert client.get("/admin/finance/funds.xlsx").status_code == 403
    assert client.get("/admin/finance/reconciliation").status_code == 403


def test_the_funds_flow_shows_a_days_top_ups_and_exports_the_same_rows(
    client, session, signed_in, member, signer
) -> None:
    someone = member()
    wallet.top_up(
        session, signer, SYSTEM, someone.id, 50_000, method="cash", idempotency_key=f"ff-{someone.id}"
    )
    session.flush()
    today = chain_date(utcnow())
    signed_in("finance")
    period = {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}

    page = client.get("/admin/finance/funds", params=period)
    export = client.get("/admin/finance/funds.xlsx", params=period)

    assert page.status_code == 200
    assert 'data-testid="funds-rows"' in page.text
    assert "¥500.00" in page.text
    assert export.status_code == 200
    detail = workbook_rows(export.content, 0)
    cash_rows = [row for row in detail if "cash" in row]
    assert len(cash_rows) == 1
    assert 500 in cash_rows[0]


def test_a_period_that_ends_before_it_starts_is_a_clear_error(client, signed_in) -> None:
    signed_in("finance")

    answer = client.get("/admin/finance/funds", params={"date_from": "2026-11-20", "date_to": "2026-11-10"})

    assert answer.status_code == 400
    assert "date_to is before date_from" in answer.text


def test_finance_resolves_a_difference_and_the_service_refuses_what_it_must(
    client, session, staff, signed_in
) -> None:
    paid_intent(session, "FC-B1", 20_000, at("2026-11-24 09:00:00"))
    bill = wechat_bill(("2026-11-24 11:00:00", "FC-D1", "SUCCESS", "100.00"))
    importer = staff("finance")
    assert upload(client, importer.headers, bill).status_code == 201
    reconciliation.reconcile(session, "wechat", DAY)
    items = {i.reference: i for i in session.query(ReconciliationItem).filter_by(business_date=DAY)}
    signed_in("finance")

    queue = client.get("/admin/finance/reconciliation")
    resolved = htmx(
        client,
        "POST",
        f"/admin/finance/reconciliation/{items['FC-B1'].id}/resolve",
        {"resolution": "written_off", "note": "银行已核实"},
    )
    refused = htmx(
        client,
        "POST",
        f"/admin/finance/reconciliation/{items['FC-D1'].id}/resolve",
        {"resolution": "credited_member", "note": ""},
    )

    assert f'data-item-id="{items["FC-B1"].id}"' in queue.text
    assert resolved.status_code == 200
    assert 'data-testid="item-resolved"' in resolved.text
    assert f'data-item-id="{items["FC-B1"].id}"' not in resolved.text
    assert refused.status_code == 409
    assert 'data-error-code="reconciliation_resolution_not_allowed"' in refused.text
    session.refresh(items["FC-D1"])
    assert items["FC-D1"].status == "open"
