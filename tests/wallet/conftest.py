"""Fixtures of the wallet tests: staff with bearer tokens, signed-in members, the POS fixtures (a
station's terminal, members, the ledger signer), and risk limits switched off where a test sells
to one member many times a minute (the limits themselves are the risk tests' business)."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from forecourt.risk.models import RiskRule
from tests.auth.fast_staff import staff
from tests.coupons.conftest import member_auth, member_token
from tests.pos.conftest import member, pii, signer, terminal

__all__ = ["member", "member_auth", "member_token", "no_risk_limits", "pii", "signer", "staff", "terminal"]


def switch_off_risk_rules(session: Session) -> None:
    session.execute(update(RiskRule).values(enabled=False))
    session.flush()


@pytest.fixture
def no_risk_limits(session: Session) -> None:
    """No risk rule in force (payments per minute, paid per day …) for this test."""
    switch_off_risk_rules(session)
