"""Every query of the auth context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from forecourt.auth.models import StaffToken, StaffUser


def get_user(session: Session, user_id: uuid.UUID) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def get_user_by_username(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def list_users(session: Session, *, role: str | None, after: str | None, limit: int) -> Sequence[StaffUser]:
    query = select(StaffUser).order_by(StaffUser.username).limit(limit)
    if role:
        query = query.where(StaffUser.role == role)
    if after:
        query = query.where(StaffUser.username > after)
    return session.scalars(query).all()


def token_with_user(session: Session, token_hash: str) -> tuple[StaffToken, StaffUser] | None:
    row = session.execute(
        select(StaffToken, StaffUser)
        .join(StaffUser, StaffUser.id == StaffToken.user_id)
        .where(StaffToken.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None


def revoke_tokens_of(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    result = session.execute(
        update(StaffToken)
        .where(StaffToken.user_id == user_id, StaffToken.revoked_at.is_(None), StaffToken.expires_at > now)
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_tokens_expired_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(StaffToken).where(StaffToken.expires_at < moment))
    return int(result.rowcount)  # type: ignore[attr-defined]
