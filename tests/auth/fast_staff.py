"""A ``staff`` fixture that spends Argon2 time once, not on every account it makes.

Every account the fixture makes has the same password, so its Argon2id hash (a real one, with the
product's parameters) is computed once per run, and the fixture's own sign-in remembers that the
password verifies. Only the fixture's set-up is sped up: every login, password change and account
created through the API inside a test still runs the real hashing and verification.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from forecourt.auth import service as auth_service
from tests.fixtures.builders import StaffLogin, make_staff

_hash_once = functools.lru_cache(maxsize=8)(auth_service.hash_password)
_verify_once = functools.lru_cache(maxsize=64)(auth_service.verify_password)


@pytest.fixture
def staff(session: Session, monkeypatch: pytest.MonkeyPatch) -> Callable[..., StaffLogin]:
    """``staff("admin")`` → a signed-in staff member (``.user``, ``.token``, ``.headers``)."""

    def build(role: str, **options: object) -> StaffLogin:
        with monkeypatch.context() as patch:
            patch.setattr(auth_service, "hash_password", _hash_once)
            patch.setattr(auth_service, "verify_password", _verify_once)
            return make_staff(session, role, **options)  # type: ignore[arg-type]

    return build
