"""Safeguards around coupons: a rule naming a missing template is refused when saved, refunds do
not farm granted coupons, erased members' coupons die, templates' dates and stock stay coherent,
partners verify only their vouchers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.coupons import issuance, templates
from forecourt.coupons.errors import CouponNotClaimable, CouponOutOfStock
from forecourt.coupons.models import Coupon
from forecourt.coupons.schemas import TemplateChange
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.members import privacy
from forecourt.members.models import Member
from forecourt.rules import service as rules
from forecourt.rules.errors import InvalidRule
from forecourt.rules.schemas import RuleDocument
from tests.coupons.support import TEMPLATES, error_of, give_coupon, make_template, template_code
from tests.pos.support import Terminal, deliver_events, fuel

Staff = Callable[..., Any]


def _grant_rule(template: str) -> RuleDocument:
    return RuleDocument.model_validate(
        {
            "code": template_code("R").lower(),
            "name": "加油送券",
            "action": {"type": "hook", "hook": "coupon.grant", "params": {"template": template}},
        }
    )


def _status(session: Session, coupon_id: Any) -> str:
    session.expire_all()
    return session.get_one(Coupon, coupon_id).status


def test_a_rule_granting_a_template_that_does_not_exist_is_refused_when_saved(session: Session) -> None:
    with pytest.raises(InvalidRule, match="NO-SUCH"):
        rules.create_rule(session, SYSTEM, _grant_rule("NO-SUCH"))


def test_a_fully_refunded_sale_takes_back_the_unused_coupon_it_granted(
    session: Session, terminal: Terminal, member: Callable[..., Member]
) -> None:
    template = make_template(session)
    rules.create_rule(session, SYSTEM, _grant_rule(template.code))
    session.flush()
    driver = member()
    sale = terminal.commit(terminal.basket(fuel("92", "10.00"), member=driver))
    assert sale.status_code == 201, sale.text
    granted = session.scalars(select(Coupon).where(Coupon.member_id == driver.id)).all()
    granted_ids = {c.id for c in granted if c.template_id == template.id}
    assert len(granted_ids) == 1

    refund = terminal.refund(sale.json()["id"])
    assert refund.status_code == 200, refund.text
    (coupon_id,) = granted_ids
    assert _status(session, coupon_id) == "void"
    assert {"coupon_id": str(coupon_id), "status": "void"} in refund.json()["refund"]["coupons"]


def test_an_erased_members_unused_coupons_are_void(
    session: Session, member: Callable[..., Member], app: Any
) -> None:
    driver = member()
    coupon = give_coupon(session, driver, make_template(session).code, utcnow())
    privacy.erase(session, SYSTEM, driver, reason="会员注销")
    session.flush()
    deliver_events(app.state.database)
    assert _status(session, coupon.id) == "void"


def test_a_time_window_with_an_offset_is_refused(client: TestClient, staff: Staff) -> None:
    body = {
        "code": template_code(),
        "name": "早间券",
        "kind": "amount_off",
        "terms": {"amount_off_fen": 500, "time_from": "06:00+08:00", "time_to": "10:00+08:00"},
        "valid_days": 7,
    }
    response = client.post(TEMPLATES, json=body, headers=staff("marketing").headers)
    assert response.status_code == 422


def test_days_of_validity_count_from_the_templates_start_when_it_is_later(
    session: Session, member: Callable[..., Member]
) -> None:
    starts = datetime(2027, 1, 1, tzinfo=chain_zone())
    template = make_template(session, valid_days=3, valid_from=starts.isoformat())
    coupon = give_coupon(session, member(), template.code, utcnow())
    assert coupon.valid_from == starts
    assert coupon.expires_at == datetime(2027, 1, 4, tzinfo=chain_zone())


def test_a_template_past_its_validity_issues_nothing(session: Session, member: Callable[..., Member]) -> None:
    now = utcnow()
    template = make_template(session, valid_days=None, valid_until=(now + timedelta(days=1)).isoformat())
    with pytest.raises(CouponNotClaimable) as refused:
        issuance.issue(session, template, member().id, channel="campaign", now=now + timedelta(days=2))
    assert refused.value.details["reason"] == "closed"


def test_a_stock_given_to_a_template_in_use_counts_the_coupons_already_issued(
    session: Session, member: Callable[..., Member]
) -> None:
    template = make_template(session)
    for _ in range(3):
        give_coupon(session, member(), template.code, utcnow())
    templates.change_template(session, SYSTEM, template.code, TemplateChange(total_stock=4))
    give_coupon(session, member(), template.code, utcnow())
    with pytest.raises(CouponOutOfStock):
        give_coupon(session, member(), template.code, utcnow())


def test_a_template_cannot_lose_its_validity(client: TestClient, session: Session, staff: Staff) -> None:
    template = make_template(session, valid_days=None, valid_until=(utcnow() + timedelta(days=9)).isoformat())
    response = client.patch(
        f"{TEMPLATES}/{template.code}", json={"valid_until": None}, headers=staff("marketing").headers
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_coupon_template"
