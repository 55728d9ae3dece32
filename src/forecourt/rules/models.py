from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class EarningRule(Base):
    """One version of an earning rule. Rows are never edited except to retire them: a change writes
    the next version, and the previous one becomes ``superseded``. The rule's document (filters,
    condition, action, caps, budget) is kept whole in ``document``, as exported to YAML."""

    __tablename__ = "earning_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    """``active``, ``draft`` (not in force; back-tests and previews only), ``retired`` or
    ``superseded`` (a later version replaced it)."""
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(140))

    __table_args__ = (
        UniqueConstraint("code", "version"),
        Index("ix_earning_rules_status", "status"),
    )


class RuleSetRevision(Base):
    """One row: bumped by every rule change, so each process knows when its compiled rules are
    stale. Written only by staff changes, read by sales: never a hot row."""

    __tablename__ = "rule_set_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime]


class RuleUsage(Base):
    """Points a member earned from one capped rule in one period (``D2026-11-25``, ``M2026-11``)."""

    __tablename__ = "rule_usage"

    rule_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(12), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)


class RuleBudget(Base):
    """Points a rule with a budget has given so far; never more than the budget."""

    __tablename__ = "rule_budgets"

    rule_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)


class CheckIn(Base):
    """A member's daily check-in (one per local day) and the streak it continued."""

    __tablename__ = "member_check_ins"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    streak: Mapped[int]
    points: Mapped[int]
    checked_in_at: Mapped[datetime]


class RewardGrant(Base):
    """A one-off reward given to a member (welcome, referral, profile, monthly task …): the key
    makes each happen at most once, however it is triggered. ``status`` says what became of a
    pending reward: ``pending``, ``posted``, ``voided`` or ``reversed`` (its sale was refunded)."""

    __tablename__ = "reward_grants"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    rule_code: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger)
    posting_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    """What it is for: ``referee:<member id>`` for both sides of a referral, a month for a task …"""
    settled_by: Mapped[str | None] = mapped_column(String(120))
    """What posted it (``sale:<id>``, the referee's first fueling)."""
    settle_posting_id: Mapped[uuid.UUID | None]
    granted_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_reward_grants_member_id", "member_id"),
        Index("ix_reward_grants_source", "source"),
        Index("ix_reward_grants_settled_by", "settled_by"),
    )


class TaskProgress(Base):
    """How far a member is with a monthly task (e.g. litres of diesel this month, × 100)."""

    __tablename__ = "task_progress"

    rule_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(12), primary_key=True)
    amount_centi: Mapped[int] = mapped_column(BigInteger)
