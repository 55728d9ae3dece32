"""Manual points adjustments, maker–checker: service staff ask on the member's page, finance approves
or rejects in /admin/adjustments, and nobody approves their own request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from forecourt.ledger import points
from forecourt.ledger.models import PointAdjustment
from tests.web.support import htmx, sign_in


def _request(client: TestClient, member_id, amount: str, reason: str = "油站补录积分"):
    return htmx(
        client, "POST", f"/admin/members/{member_id}/adjustments", {"amount": amount, "reason": reason}
    )


def test_a_finance_user_approves_an_adjustment_requested_by_service_staff(
    client, session, staff, member
) -> None:
    someone = member()
    service, finance = staff("service"), staff("finance")
    sign_in(client, service)

    asked = _request(client, someone.id, "+500")

    assert asked.status_code == 200, asked.text
    assert 'data-testid="adjustment-requested"' in asked.text
    assert 'data-status="pending"' in asked.text
    assert points.balances(session, someone.id).available == 0
    sign_in(client, finance)
    queue = client.get("/admin/adjustments")
    adjustment = session.query(PointAdjustment).filter_by(member_id=someone.id).one()
    assert f'data-adjustment-id="{adjustment.id}"' in queue.text

    approved = htmx(client, "POST", f"/admin/adjustments/{adjustment.id}/approve", {"note": "核实无误"})

    assert approved.status_code == 200, approved.text
    assert 'data-testid="adjustment-decided"' in approved.text
    assert f'data-adjustment-id="{adjustment.id}"' not in approved.text  # gone from the pending queue
    assert points.balances(session, someone.id).available == 500
    decided = client.get("/admin/adjustments", params={"tab": "decided"})
    assert f'data-adjustment-id="{adjustment.id}" data-status="approved"' in decided.text
    assert (
        'data-testid="member-trail"' not in client.get(f"/admin/members/{someone.id}").text
    )  # no audit:read
    sign_in(client, staff("admin"))
    trail = client.get(f"/admin/members/{someone.id}").text.split('data-testid="member-trail"')[1]
    assert 'data-action="points.adjustment_request"' in trail
    assert 'data-action="points.adjustment_approve"' in trail


def test_the_requester_cannot_approve_their_own_adjustment(client, session, staff, member) -> None:
    someone = member()
    admin = staff("admin")
    sign_in(client, admin)
    _request(client, someone.id, "300")
    adjustment = session.query(PointAdjustment).filter_by(member_id=someone.id).one()

    refused = htmx(client, "POST", f"/admin/adjustments/{adjustment.id}/approve")

    assert refused.status_code == 403
    assert refused.headers["HX-Retarget"] == "#messages"
    assert 'data-error-code="self_approval"' in refused.text
    session.refresh(adjustment)
    assert adjustment.status == "pending"
    assert points.balances(session, someone.id).available == 0


def test_a_rejected_adjustment_posts_nothing(client, session, staff, member) -> None:
    someone = member()
    sign_in(client, staff("service"))
    _request(client, someone.id, "200")
    adjustment = session.query(PointAdjustment).filter_by(member_id=someone.id).one()
    sign_in(client, staff("finance"))

    rejected = htmx(client, "POST", f"/admin/adjustments/{adjustment.id}/reject", {"note": "无依据"})

    assert rejected.status_code == 200
    session.refresh(adjustment)
    assert adjustment.status == "rejected"
    assert points.balances(session, someone.id).available == 0


def test_an_amount_that_is_not_a_number_or_no_reason_is_refused_and_nothing_is_asked(
    client, session, staff, member
) -> None:
    someone = member()
    sign_in(client, staff("service"))

    words = _request(client, someone.id, "five hundred")
    no_reason = _request(client, someone.id, "500", reason="  ")
    zero = _request(client, someone.id, "0")

    assert [words.status_code, no_reason.status_code, zero.status_code] == [400, 400, 400]
    assert 'data-error-code="invalid_adjustment"' in no_reason.text
    assert session.query(PointAdjustment).filter_by(member_id=someone.id).count() == 0


def test_finance_may_approve_but_not_ask_and_service_may_ask_but_not_approve(client, staff, member) -> None:
    someone = member()
    sign_in(client, staff("finance"))
    assert _request(client, someone.id, "100").status_code == 403
    sign_in(client, staff("service"))
    assert client.get("/admin/adjustments").status_code == 403
