"""Fixtures of the invoice tests: an app with the invoices router mounted (until the lead mounts
it in ``create_app``), staff, signed-in members, the POS fixtures and risk limits switched off."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from forecourt.app import create_app
from forecourt.config import Settings
from tests.invoices.support import mount
from tests.wallet.conftest import (
    member,
    member_auth,
    member_token,
    no_risk_limits,
    pii,
    signer,
    staff,
    terminal,
)

__all__ = ["member", "member_auth", "member_token", "no_risk_limits", "pii", "signer", "staff", "terminal"]


@pytest.fixture
def app(database: object, test_settings: Settings) -> FastAPI:
    made = create_app(test_settings, database=database)  # type: ignore[arg-type]
    mount(made)
    return made
