"""Fixtures of the coupon tests: staff with bearer tokens, a signed-in member, and the POS
fixtures (a station's terminal, members, the ledger signer)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.members.pii import Pii
from tests.auth.fast_staff import staff
from tests.members.support import MemberLogin, member_login
from tests.pos.conftest import member, pii, signer, terminal

__all__ = ["member", "member_auth", "member_token", "pii", "signer", "staff", "terminal"]


@pytest.fixture
def member_auth(client: TestClient, session: Session, pii: Pii) -> Callable[..., MemberLogin]:
    """``member_auth()`` → a member signed in by SMS code (``.member_id``, ``.headers``) for /api/v1/me."""

    def build(phone: str | None = None) -> MemberLogin:
        return member_login(client, session, pii, phone)

    return build


@pytest.fixture
def member_token(member_auth: Callable[..., MemberLogin]) -> MemberLogin:
    """One signed-in member (``.headers`` for /api/v1/me routes)."""
    return member_auth()
