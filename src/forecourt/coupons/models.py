"""Coupon tables.

Stock is a conditional increment of ``coupon_stock.issued`` (``… WHERE issued + n <= stock``),
taken in the transaction that writes the coupons, so a template never issues more than its stock.
Member-day templates count stock and per-member limits per month (``period`` ``2026-11``); others
over their life (period ``""``). A member's limit is a unique ``(template_id, member_id,
claim_period, claim_slot)``: the n-th coupon of a limited template takes slot n, so two concurrent
claims for the last slot cannot both land. A coupon is used by a conditional update from
``available`` to ``used``, so it is never used twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.db.types import JSONDocument
from forecourt.kit.ids import new_id


class CouponTemplate(Base):
    """What a coupon does (``terms``: amounts, scope, stacking, as ``TemplateTerms``), how long it
    is valid, how many may exist, who may claim it and who pays for the discount."""

    __tablename__ = "coupon_templates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    """``active`` or ``retired`` (no new coupons; those held stay usable)."""
    terms: Mapped[dict[str, Any]]
    face_value_fen: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]
    """Validity relative to the claim (N days from it); otherwise [valid_from, valid_until)."""
    total_stock: Mapped[int | None] = mapped_column(BigInteger)
    """Coupons that may exist (per month for a member-day template); None: no limit."""
    per_member_limit: Mapped[int | None]
    claimable: Mapped[bool]
    """Shown in the member's coupon centre to claim (领取)."""
    claim_from: Mapped[datetime | None]
    claim_until: Mapped[datetime | None]
    member_day: Mapped[bool]
    """Claimable only on the member day (the 8th of the month, chain time)."""
    points_price: Mapped[int | None] = mapped_column(BigInteger)
    """Members may buy one with this many points (5,000 points: a car wash)."""
    funder: Mapped[str] = mapped_column(String(16))
    """Who pays for the discount: ``hq``, ``station`` or ``partner``."""
    partner_code: Mapped[str | None] = mapped_column(String(40))
    settlement_fen: Mapped[int | None] = mapped_column(BigInteger)
    """What the chain settles with the partner for each coupon the partner verifies."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CouponStock(Base):
    """Coupons issued of a template in a stock period: the row the stock check updates."""

    __tablename__ = "coupon_stock"

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupon_templates.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    issued: Mapped[int] = mapped_column(BigInteger)


class CouponPack(Base):
    """A bundle of coupons issued together (the new-member pack)."""

    __tablename__ = "coupon_packs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    """``[{"template": code, "count": n}]``."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CouponBatch(Base):
    """Codes generated at once for print or a partner channel; each code is a coupon waiting to be
    claimed by the member who types or scans it."""

    __tablename__ = "coupon_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupon_templates.id"))
    channel: Mapped[str] = mapped_column(String(24))
    size: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(140))


class Coupon(Base):
    """One coupon. ``status``: ``unclaimed`` (a batch code nobody holds yet), ``available``,
    ``used``, ``refunded_expired`` (its sale was refunded after it expired) or ``void``."""

    __tablename__ = "coupons"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupon_templates.id"))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupon_batches.id"))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(24), unique=True)
    """What the member shows (QR) to use or verify it."""
    printed_code: Mapped[str | None] = mapped_column(String(24), unique=True)
    """A batch coupon's printed code: it claims the coupon, which then gets a new ``code`` (others
    saw the printed one)."""
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(24))
    """How it was issued: ``claim``, ``batch``, ``rule``, ``campaign``, ``pack``, ``exchange``,
    ``birthday``, ``member_day``."""
    source_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    """Automatic issues (a rule firing on a sale, a pack on registration) at most once per key."""
    claim_period: Mapped[str] = mapped_column(String(8))
    claim_slot: Mapped[int | None]
    issued_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    valid_from: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    used_sale_id: Mapped[uuid.UUID | None]
    used_station: Mapped[str | None] = mapped_column(String(32))
    used_by: Mapped[str | None] = mapped_column(String(140))
    """Who verified it: a device, a staff member or a partner account."""
    discount_fen: Mapped[int | None] = mapped_column(BigInteger)
    """What it took off (the cost of the coupon), or the settlement price of a partner verification."""
    returned_at: Mapped[datetime | None]
    """When a refund gave it back (or recorded it refunded-expired)."""

    __table_args__ = (
        UniqueConstraint(
            "template_id", "member_id", "claim_period", "claim_slot", name="uq_coupons_member_slot"
        ),
        Index("ix_coupons_member_status", "member_id", "status"),
        Index("ix_coupons_used_sale", "used_sale_id"),
        Index("ix_coupons_template_status", "template_id", "status"),
        Index("ix_coupons_batch", "batch_id"),
    )
