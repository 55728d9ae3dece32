"""Fixtures of the finance tests: the invoice tests' app (finance router mounted), staff, the POS
fixtures, risk limits off."""

from __future__ import annotations

from tests.invoices.conftest import app, member, no_risk_limits, pii, signer, staff, terminal

__all__ = ["app", "member", "no_risk_limits", "pii", "signer", "staff", "terminal"]
