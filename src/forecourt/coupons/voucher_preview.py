"""What the station console shows about a voucher code before verifying (核销) it.

Read in the verifying request's own (write) transaction: the lookup is the one ``verify`` makes
(the coupon row locked), so what is shown is what ``verify`` will decide on. Nothing is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from forecourt.coupons import repository
from forecourt.coupons.errors import CouponNotFound
from forecourt.coupons.issuance import normalise_code


@dataclass(frozen=True)
class VoucherPreview:
    coupon_id: uuid.UUID
    code: str
    title: str
    kind: str
    face_value_fen: int
    status: str
    """``available``, ``used``, ``expired`` … as stored; ``expired`` too when its end has passed."""
    valid_from: datetime | None
    expires_at: datetime | None
    used_at: datetime | None
    used_station: str | None


def voucher_preview(session: Session, code: str, now: datetime) -> VoucherPreview:
    """The coupon a typed or scanned code names (a coupon no member holds is not found)."""
    row = repository.coupon_by_code_for_update(session, normalise_code(code))
    if row is None or row[0].member_id is None:
        raise CouponNotFound(code="***")
    coupon, template = row
    status = coupon.status
    if status == "available" and (coupon.expires_at is None or coupon.expires_at <= now):
        status = "expired"
    return VoucherPreview(
        coupon_id=coupon.id,
        code=coupon.code,
        title=template.name,
        kind=template.kind,
        face_value_fen=template.face_value_fen,
        status=status,
        valid_from=coupon.valid_from,
        expires_at=coupon.expires_at,
        used_at=coupon.used_at,
        used_station=coupon.used_station,
    )
