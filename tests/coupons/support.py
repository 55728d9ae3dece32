"""Coupon test helpers: templates made through the service with sensible defaults, coupons given
through ``issuance.issue``, and the coupon API paths."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from forecourt.coupons import issuance, templates
from forecourt.coupons.models import Coupon, CouponTemplate
from forecourt.coupons.schemas import TemplateCreate
from forecourt.kit.actor import SYSTEM
from forecourt.members.models import Member
from tests.fixtures.builders import unique

TEMPLATES = "/api/v1/coupon-templates"
BATCHES = "/api/v1/coupon-batches"
MY_COUPONS = "/api/v1/me/coupons"
CLAIM = "/api/v1/me/coupons/claim"
REDEEM_CODE = "/api/v1/me/coupons/redeem-code"
EXCHANGE = "/api/v1/me/coupons/exchange"
CENTRE = "/api/v1/me/coupon-centre"


def template_code(prefix: str = "T") -> str:
    """A template code no other test uses (upper case, as template codes are)."""
    return unique(prefix).upper()


def template_document(**overrides: Any) -> dict[str, Any]:
    """A valid template body: ¥10 off anything, valid 30 days from the claim, unless overridden."""
    return {
        "code": template_code(),
        "name": "测试券 立减10元",
        "kind": "amount_off",
        "terms": {"amount_off_fen": 1000},
        "valid_days": 30,
        **overrides,
    }


def make_template(session: Session, **overrides: Any) -> CouponTemplate:
    """A template created through ``templates.create_template`` (see ``template_document``)."""
    template = templates.create_template(
        session, SYSTEM, TemplateCreate.model_validate(template_document(**overrides))
    )
    session.flush()
    return template


def give_coupon(session: Session, member: Member, template_code: str, now: datetime) -> Coupon:
    """A coupon of the template issued to the member at ``now`` (as a campaign would)."""
    template = templates.get_template(session, template_code)
    coupon, _ = issuance.issue(session, template, member.id, channel="campaign", now=now)
    session.flush()
    return coupon


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error answer."""
    body: dict[str, Any] = response.json()
    error: dict[str, Any] = body["error"]
    return error
