"""Helpers for tests elsewhere that commit many sales for one member at once and are not about risk."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.risk import service as risk
from forecourt.risk.domain import DEFINITIONS


def rules_off(session: Session, *codes: str) -> None:
    """Switch the named risk rules off (all of them when none is named), default parameters kept.
    A committed test's database gets the defaults back when its tables are cleaned."""
    for code in codes or tuple(DEFINITIONS):
        risk.set_rule(session, SYSTEM, code, enabled=False, params=dict(DEFINITIONS[code].params))
