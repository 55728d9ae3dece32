from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class TierProgram(Base):
    """How members qualify: the metric and the window it is summed over."""

    __tablename__ = "tier_programs"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(24))
    """``money_paid_fen``, ``liters_centi`` (litres × 100), ``visits`` or ``points_earned``."""
    window: Mapped[str] = mapped_column(String(24))
    """``rolling_12_months``, ``calendar_year`` or ``cumulative``."""
    grace_months: Mapped[int] = mapped_column(default=3)
    updated_at: Mapped[datetime]


class TierLevel(Base):
    __tablename__ = "tier_levels"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(unique=True)
    threshold: Mapped[int] = mapped_column(BigInteger)
    """Qualifying amount in the program's metric units."""
    multiplier_permille: Mapped[int] = mapped_column(default=1000)
    """Points multiplier × 1000 (1.2 → 1200)."""
    fuel_discount_bp: Mapped[int] = mapped_column(default=0)
    """Fuel discount in basis points (2% → 200)."""
    points_never_expire: Mapped[bool] = mapped_column(default=False)
    priority_lane: Mapped[bool] = mapped_column(default=False)


class MemberTier(Base):
    """A member's current tier; no row means the entry tier."""

    __tablename__ = "member_tiers"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tier_code: Mapped[str] = mapped_column(ForeignKey("tier_levels.code"))
    since: Mapped[datetime]
    grace_until: Mapped[datetime | None]
    """Set when an evaluation found the member below their tier: downgrade if still below then."""
    manual_until: Mapped[datetime | None]
    """A tier set by hand holds until then, whatever the metric says."""
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_member_tiers_tier_code", "tier_code"),)


class TierActivity(Base):
    """A qualifying event (a sale): what it adds to each metric. Idempotent by ``source_key``."""

    __tablename__ = "tier_activity"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    occurred_at: Mapped[datetime]
    money_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    liters_centi: Mapped[int] = mapped_column(BigInteger, default=0)
    visits: Mapped[int] = mapped_column(default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_tier_activity_member_id_occurred_at", "member_id", "occurred_at"),)


class TierChange(Base):
    __tablename__ = "tier_history"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    from_code: Mapped[str] = mapped_column(String(32))
    to_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    """``upgrade``, ``downgrade``, ``manual``, ``manual_expired``."""
    metric_value: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(140))
    note: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[datetime]

    __table_args__ = (Index("ix_tier_history_member_id_occurred_at", "member_id", "occurred_at"),)
