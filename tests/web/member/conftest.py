from __future__ import annotations

import pytest
from fastapi import FastAPI

from forecourt.members.pii import Pii


@pytest.fixture
def pii(app: FastAPI) -> Pii:
    pii: Pii = app.state.pii
    return pii
