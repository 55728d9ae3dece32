"""Identifiers and secrets."""

from __future__ import annotations

import secrets
import uuid

from uuid_utils import compat as _uuid


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7): unique without coordination and friendly to B-tree indexes."""
    return _uuid.uuid7()


def random_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe token (bearer tokens, device secrets)."""
    return secrets.token_urlsafe(nbytes)
