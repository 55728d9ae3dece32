"""The coupons part of a member's export; kept on erasure (no personal data, pseudonymous ids)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forecourt.coupons import repository
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section


@export_section("coupons", ("coupons",))
def _coupons(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    return {
        "coupons": [
            {
                "template": template.code,
                "code": coupon.code,
                "status": coupon.status,
                "channel": coupon.channel,
                "claimed_at": coupon.claimed_at,
                "expires_at": coupon.expires_at,
                "used_at": coupon.used_at,
                "used_station": coupon.used_station,
            }
            for coupon, template in repository.all_coupons_of(session, member.id)
        ]
    }
