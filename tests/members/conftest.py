from __future__ import annotations

import pytest
from fastapi import FastAPI

from forecourt.members.pii import Pii


@pytest.fixture
def pii(app: FastAPI) -> Pii:
    result: Pii = app.state.pii
    return result


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app: FastAPI) -> None:
    """Each test starts with empty rate-limit windows (SMS per IP would otherwise add up)."""
    app.state.rate_limiter.reset()
