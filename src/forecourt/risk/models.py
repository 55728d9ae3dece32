"""Risk tables: the rules staff tune and every decision taken, with its reasons."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.db.types import JSONDocument
from forecourt.kit.ids import new_id


class RiskRule(Base):
    __tablename__ = "risk_rules"

    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    """``payments_per_minute``, ``paid_per_day``, ``redemption_burst``, ``new_device_step_up`` …"""
    enabled: Mapped[bool]
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(140))


class RiskDecision(Base):
    """One evaluation that refused (or flagged) something, with the rule and the figures."""

    __tablename__ = "risk_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(24))
    """What was being done: ``payment``, ``redemption``, ``login``."""
    outcome: Mapped[str] = mapped_column(String(16))
    """``rejected``, ``step_up`` or ``flagged``."""
    rule: Mapped[str] = mapped_column(String(48))
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    decided_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(140))
    review_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_risk_decisions_member", "member_id", "decided_at"),)
