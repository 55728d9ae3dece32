"""Importing providers' bills, reconciling a Beijing business day, and finance's review queue."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from forecourt.audit.models import AuditEntry
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import Actor
from forecourt.payments.models import PaymentIntent
from forecourt.reconciliation import service
from forecourt.reconciliation.models import ProviderStatement, ReconciliationItem, StatementLine
from forecourt.wallet import service as wallet
from tests.members.support import make_member
from tests.reconciliation.support import fixture, paid_intent, refund, wechat_bill

DAY = date(2026, 11, 24)
STATEMENTS = "/api/v1/reconciliation/statements"


def at(text: str) -> datetime:
    """A Beijing wall-clock time."""
    return datetime.fromisoformat(text + "+08:00")


def upload(client, headers, data, provider="wechat", day=DAY):
    return client.post(
        STATEMENTS,
        params={"provider": provider, "business_date": day.isoformat(), "file_name": "bill.csv"},
        content=data,
        headers={**headers, "Content-Type": "text/csv"},
    )


def _finance_actor() -> Actor:
    return Actor(kind="staff", id="finance", label="finance", role="finance")


def every_kind_of_difference(session):
    """Ours: A matched, B the provider lacks, C for another amount, a refund matched; theirs: D we lack."""
    a = paid_intent(session, "FC-A", 50_000, at("2026-11-24 08:00:00"))
    paid_intent(session, "FC-B", 20_000, at("2026-11-24 09:00:00"))
    paid_intent(session, "FC-C", 30_000, at("2026-11-24 10:00:00"))
    refund(session, a, "RF-A", 10_000, at("2026-11-24 12:00:00"))
    return wechat_bill(
        ("2026-11-24 08:00:01", "FC-A", "SUCCESS", "500.00"),
        ("2026-11-24 10:00:01", "FC-C", "SUCCESS", "300.01"),
        ("2026-11-24 11:00:00", "FC-D", "SUCCESS", "100.00"),
        ("2026-11-24 12:00:01", "FC-A", "REFUND", "100.00", "RF-A"),
    )


def test_finance_imports_a_bill_once_and_the_same_file_again_changes_nothing(client, session, staff):
    finance = staff("finance").headers
    first = upload(client, finance, fixture("wechat_trade_bill_2026-11-24.csv"))
    again = upload(client, finance, fixture("wechat_trade_bill_2026-11-24.csv"))

    assert first.status_code == 201, first.text
    assert first.json()["lines"] == 3
    assert first.json()["total_fen"] == 50_000 + 100_001 - 20_050
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert session.scalar(select(func.count()).select_from(ProviderStatement)) == 1
    assert session.scalar(select(func.count()).select_from(StatementLine)) == 3
    assert session.scalar(select(func.count()).where(AuditEntry.action == "reconciliation.import")) == 1


def test_an_alipay_bill_is_imported_for_alipay(client, staff):
    answer = upload(client, staff("finance").headers, fixture("alipay_trade_bill_2026-11-24.csv"), "alipay")
    assert answer.status_code == 201, answer.text
    assert answer.json()["lines"] == 3


def test_a_file_that_is_not_the_providers_bill_is_refused_with_its_line(client, staff):
    answer = upload(client, staff("finance").headers, fixture("alipay_trade_bill_2026-11-24.csv"), "wechat")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_statement"


def test_only_finance_imports_statements(client, staff):
    answer = upload(client, staff("marketing").headers, b"x")
    assert answer.status_code == 403


def test_a_statement_with_every_kind_of_difference_is_classified_and_summarised(client, session, staff):
    finance = staff("finance").headers
    assert upload(client, finance, every_kind_of_difference(session)).status_code == 201

    run = service.reconcile(session, "wechat", DAY)

    items = {
        item.reference: (item.kind, item.classification, item.ours_fen, item.theirs_fen, item.status)
        for item in session.scalars(select(ReconciliationItem))
    }
    assert items == {
        "FC-B": ("payment", "missing_at_provider", 20_000, None, "open"),
        "FC-C": ("payment", "amount_mismatch", 30_000, 30_001, "open"),
        "FC-D": ("payment", "missing_in_ours", None, 10_000, "open"),
    }
    assert run.summary["matched"] == {"count": 2, "ours_fen": 60_000, "theirs_fen": 60_000}
    assert run.summary["missing_in_ours"]["count"] == 1
    summary = client.get("/api/v1/reconciliation/summary", params={"date": "2026-11-24"}, headers=finance)
    assert summary.status_code == 200, summary.text
    assert summary.json()["open_items"] == 3
    assert summary.json()["runs"][0]["summary"]["amount_mismatch"]["theirs_fen"] == 30_001


def test_the_reconcile_job_twice_for_the_same_day_changes_nothing_the_second_time(
    session, database, test_settings
):
    service.import_statement(
        session,
        _finance_actor(),
        provider="wechat",
        business_date=DAY,
        file_name="bill.csv",
        data=every_kind_of_difference(session),
    )
    session.commit()
    after_midnight = datetime.fromisoformat("2026-11-25T00:30:00+08:00")

    first = run_job(database, test_settings, "reconcile", at=after_midnight)
    found = {(i.id, i.classification, i.found_at) for i in session.scalars(select(ReconciliationItem))}
    second = run_job(database, test_settings, "reconcile", at=after_midnight)

    assert first["business_date"] == "2026-11-24"
    assert first["providers"]["wechat"]["items"] == {"opened": 3, "updated": 0, "closed": 0}
    assert second["providers"]["wechat"]["items"] == {"opened": 0, "updated": 0, "closed": 0}
    session.expire_all()
    assert {
        (i.id, i.classification, i.found_at) for i in session.scalars(select(ReconciliationItem))
    } == found


def test_reconciling_again_closes_a_difference_that_went_away_and_leaves_resolved_ones_alone(session, signer):
    actor = _finance_actor()
    service.import_statement(
        session,
        actor,
        provider="wechat",
        business_date=DAY,
        file_name="b",
        data=every_kind_of_difference(session),
    )
    service.reconcile(session, "wechat", DAY)
    mismatch = session.scalar(select(ReconciliationItem).where(ReconciliationItem.reference == "FC-C"))
    service.resolve(session, signer, actor, mismatch.id, resolution="accepted_ours", note="fee rounding")
    # the late notification of FC-D arrives: we have it now, and FC-C is corrected the other way
    paid_intent(session, "FC-D", 10_000, at("2026-11-24 11:00:00"))
    session.scalar(select(PaymentIntent).where(PaymentIntent.out_trade_no == "FC-C")).amount_fen = 30_001

    run = service.reconcile(session, "wechat", DAY)

    by_ref = {i.reference: i for i in session.scalars(select(ReconciliationItem))}
    assert (by_ref["FC-D"].status, by_ref["FC-D"].resolution) == ("resolved", "matched")
    assert (by_ref["FC-C"].status, by_ref["FC-C"].resolution) == ("resolved", "accepted_ours")
    assert by_ref["FC-B"].status == "open"
    assert run.summary["items"] == {"opened": 0, "updated": 0, "closed": 1}


def test_every_resolution_is_audited_and_a_resolved_difference_cannot_be_resolved_again(
    client, session, staff
):
    finance = staff("finance").headers
    upload(client, finance, every_kind_of_difference(session))
    service.reconcile(session, "wechat", DAY)
    open_items = client.get("/api/v1/reconciliation/items", params={"status": "open"}, headers=finance).json()
    by_ref = {item["reference"]: item["id"] for item in open_items["items"]}

    for reference, resolution in (("FC-B", "written_off"), ("FC-C", "accepted_provider")):
        answer = client.post(
            f"/api/v1/reconciliation/items/{by_ref[reference]}/resolve",
            json={"resolution": resolution, "note": "checked with the bank"},
            headers=finance,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["resolution"] == resolution
    again = client.post(
        f"/api/v1/reconciliation/items/{by_ref['FC-B']}/resolve",
        json={"resolution": "accepted_ours", "note": "again"},
        headers=finance,
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "reconciliation_item_resolved"
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "reconciliation.resolve")).all()
    assert {(a.entity_id, a.after["resolution"]) for a in audits} == {
        (by_ref["FC-B"], "written_off"),
        (by_ref["FC-C"], "accepted_provider"),
    }
    left = client.get("/api/v1/reconciliation/items", params={"status": "open"}, headers=finance).json()
    assert [item["reference"] for item in left["items"]] == ["FC-D"]


def test_crediting_the_member_pays_a_top_up_the_provider_collected_once(client, session, staff, pii):
    finance = staff("finance").headers
    member = make_member(session, pii)
    session.flush()
    paid_intent(session, "FC-D", 10_000, None, status="closed", member_id=member.id)
    upload(client, finance, wechat_bill(("2026-11-24 11:00:00", "FC-D", "SUCCESS", "100.00")))
    service.reconcile(session, "wechat", DAY)
    item = session.scalar(select(ReconciliationItem).where(ReconciliationItem.reference == "FC-D"))
    assert item.classification == "missing_in_ours"

    by_importer = client.post(
        f"/api/v1/reconciliation/items/{item.id}/resolve",
        json={"resolution": "credited_member", "note": "WeChat Pay took the money"},
        headers=finance,
    )
    assert by_importer.status_code == 409, "whoever uploaded the file cannot credit from it alone"
    assert wallet.balances(session, member.id).principal_fen == 0
    answer = client.post(
        f"/api/v1/reconciliation/items/{item.id}/resolve",
        json={"resolution": "credited_member", "note": "WeChat Pay took the money"},
        headers=staff("finance").headers,
    )

    assert answer.status_code == 200, answer.text
    assert wallet.balances(session, member.id).principal_fen == 10_000
    intent = session.scalar(select(PaymentIntent).where(PaymentIntent.out_trade_no == "FC-D"))
    session.refresh(intent)
    assert intent.status == "paid"
    assert intent.paid_at == at("2026-11-24 11:00:00")
    rerun = service.reconcile(session, "wechat", DAY)
    assert rerun.summary["matched"]["count"] == 1, "the intent now matches the provider's line"


def test_crediting_is_refused_where_no_top_up_of_ours_has_the_number(client, session, staff):
    finance = staff("finance").headers
    upload(client, finance, every_kind_of_difference(session))
    service.reconcile(session, "wechat", DAY)
    items = {i.reference: i.id for i in session.scalars(select(ReconciliationItem))}

    for reference in ("FC-D", "FC-B"):
        answer = client.post(
            f"/api/v1/reconciliation/items/{items[reference]}/resolve",
            json={"resolution": "credited_member", "note": "try"},
            headers=finance,
        )
        assert answer.status_code == 409, reference
        assert answer.json()["error"]["code"] == "reconciliation_resolution_not_allowed"
    assert session.scalar(select(func.count()).where(AuditEntry.action == "reconciliation.resolve")) == 0


def test_the_business_day_is_midnight_to_midnight_in_beijing(session):
    paid_intent(
        session, "FC-FIRST", 100, datetime.fromisoformat("2026-11-23T16:00:00+00:00")
    )  # 00:00 Beijing
    paid_intent(session, "FC-LAST", 200, datetime.fromisoformat("2026-11-24T15:59:59+00:00"))  # 23:59:59
    paid_intent(session, "FC-NEXT", 300, datetime.fromisoformat("2026-11-24T16:00:00+00:00"))  # next day
    paid_intent(session, "FC-BEFORE", 400, datetime.fromisoformat("2026-11-23T15:59:59+00:00"))  # day before
    bill = wechat_bill(
        ("2026-11-24 00:00:00", "FC-FIRST", "SUCCESS", "1.00"),
        ("2026-11-24 23:59:59", "FC-LAST", "SUCCESS", "2.00"),
    )
    service.import_statement(
        session, _finance_actor(), provider="wechat", business_date=DAY, file_name="b", data=bill
    )

    run = service.reconcile(session, "wechat", DAY)

    assert run.summary["matched"]["count"] == 2
    assert session.scalar(select(func.count()).select_from(ReconciliationItem)) == 0


def test_the_review_queue_filters_and_pages(client, session, staff):
    finance = staff("finance").headers
    upload(client, finance, every_kind_of_difference(session))
    service.reconcile(session, "wechat", DAY)

    first = client.get("/api/v1/reconciliation/items", params={"limit": 2}, headers=finance).json()
    rest = client.get(
        "/api/v1/reconciliation/items", params={"limit": 2, "cursor": first["next_cursor"]}, headers=finance
    ).json()
    mismatches = client.get(
        "/api/v1/reconciliation/items",
        params={"classification": "amount_mismatch", "provider": "wechat", "date": "2026-11-24"},
        headers=finance,
    ).json()
    other_day = client.get(
        "/api/v1/reconciliation/items", params={"date": "2026-11-23"}, headers=finance
    ).json()

    assert len(first["items"]) == 2
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert {i["reference"] for i in first["items"] + rest["items"]} == {"FC-B", "FC-C", "FC-D"}
    assert [i["reference"] for i in mismatches["items"]] == ["FC-C"]
    assert other_day["items"] == []
