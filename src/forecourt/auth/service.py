"""Staff accounts, login and bearer tokens.

Tokens are opaque random strings; the database keeps only their SHA-256 digest, an expiry and a
revocation time. Failed logins are limited per username and per client IP on a moving window.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.auth import repository
from forecourt.auth.errors import (
    AccountDisabled,
    CannotChangeOwnAccess,
    InvalidCredentials,
    InvalidStaffAccount,
    StaffNotFound,
    TokenInvalid,
    TooManyLoginAttempts,
    UsernameTaken,
    WeakPassword,
)
from forecourt.auth.models import StaffToken, StaffUser
from forecourt.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    burn_verification_time,
    hash_password,
    needs_rehash,
    verify_password,
)
from forecourt.auth.permissions import STATION_BOUND_ROLES, Role, permissions_of
from forecourt.config import Settings
from forecourt.db.unique import add_unique
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import sha256_hex
from forecourt.kit.ids import new_id, random_token
from forecourt.kit.ratelimit import RateLimiter


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: datetime
    user: StaffUser


def _snapshot(user: StaffUser) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "station_id": user.station_id,
        "is_active": user.is_active,
    }


def _check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"A password has {MIN_LENGTH} to {MAX_LENGTH} characters.", min_length=MIN_LENGTH)


def _check_role_and_station(role: str, station_id: uuid.UUID | None) -> Role:
    try:
        parsed = Role(role)
    except ValueError as exc:
        raise InvalidStaffAccount(f"Unknown role {role!r}.", roles=[r.value for r in Role]) from exc
    if parsed in STATION_BOUND_ROLES and station_id is None:
        raise InvalidStaffAccount(f"A {parsed.value} belongs to a station; give one.")
    if parsed not in STATION_BOUND_ROLES and station_id is not None:
        raise InvalidStaffAccount(f"A {parsed.value} is not bound to a station.")
    return parsed


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    station_id: uuid.UUID | None = None,
    display_name: str = "",
    partner_code: str | None = None,
) -> StaffUser:
    username = username.strip().lower()
    if not username:
        raise InvalidStaffAccount("A username is required.")
    _check_password(password)
    parsed_role = _check_role_and_station(role, station_id)
    if partner_code and parsed_role is not Role.PARTNER:
        raise InvalidStaffAccount("Only a partner account names a partner.")
    if repository.get_user_by_username(session, username) is not None:
        raise UsernameTaken(username=username)
    user = StaffUser(
        id=new_id(),
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=parsed_role.value,
        station_id=station_id,
        partner_code=partner_code,
        is_active=True,
        created_at=utcnow(),
    )
    add_unique(session, user, UsernameTaken(username=username))
    audit.record(session, actor, "staff.create", "staff_user", user.id, after=_snapshot(user))
    return user


UNCHANGED: Any = object()


def update_user(
    session: Session,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    role: str | None = None,
    station_id: uuid.UUID | None = UNCHANGED,
    is_active: bool | None = None,
    password: str | None = None,
    display_name: str | None = None,
) -> StaffUser:
    """Change an account. A new role, station, password or disabling revokes its live tokens."""
    user = get_user(session, user_id)
    before = _snapshot(user)
    if actor.id == str(user.id) and ((role is not None and role != user.role) or is_active is False):
        raise CannotChangeOwnAccess()
    new_role = _check_role_and_station(
        role or user.role,
        station_id
        if station_id is not UNCHANGED
        else (user.station_id if Role(role or user.role) in STATION_BOUND_ROLES else None),
    )
    user.role = new_role.value
    if station_id is not UNCHANGED or new_role not in STATION_BOUND_ROLES:
        user.station_id = station_id if station_id is not UNCHANGED else None
    if display_name is not None:
        user.display_name = display_name
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
    if is_active is not None:
        user.is_active = is_active
    after = _snapshot(user)
    if (
        password is not None
        or any(before[key] != after[key] for key in ("role", "station_id"))
        or not user.is_active
    ):
        repository.revoke_tokens_of(session, user.id, utcnow())
    if password is not None:
        after["password_changed"] = True
    audit.record(session, actor, "staff.update", "staff_user", user.id, before=before, after=after)
    return user


def revoke_tokens(session: Session, actor: Actor, user_id: uuid.UUID) -> int:
    user = get_user(session, user_id)
    count = repository.revoke_tokens_of(session, user.id, utcnow())
    audit.record(session, actor, "staff.revoke_tokens", "staff_user", user.id, after={"revoked": count})
    return count


def get_user(session: Session, user_id: uuid.UUID) -> StaffUser:
    user = repository.get_user(session, user_id)
    if user is None:
        raise StaffNotFound(staff_id=str(user_id))
    return user


def get_user_by_username(session: Session, username: str) -> StaffUser:
    user = repository.get_user_by_username(session, username.strip().lower())
    if user is None:
        raise StaffNotFound(username=username)
    return user


def list_users(
    session: Session, *, role: str | None = None, after: str | None = None, limit: int = 50
) -> Sequence[StaffUser]:
    return repository.list_users(session, role=role, after=after, limit=limit)


class LoginGuard:
    """Moving-window limits on failed logins, per username and per client IP."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        window = settings.login_failure_window_seconds
        self._limiter = limiter
        self._per_user = limiter.limit(f"{settings.login_max_failures_per_user} per {window} seconds")
        self._per_ip = limiter.limit(f"{settings.login_max_failures_per_ip} per {window} seconds")

    def check(self, username: str, ip: str) -> None:
        for item, key in ((self._per_user, ("login-user", username)), (self._per_ip, ("login-ip", ip))):
            if not self._limiter.would_allow(item, *key):
                raise TooManyLoginAttempts(retry_after=self._limiter.retry_after(item, *key))

    def failed(self, username: str, ip: str) -> None:
        self._limiter.hit(self._per_user, "login-user", username)
        self._limiter.hit(self._per_ip, "login-ip", ip)

    def succeeded(self, username: str) -> None:
        self._limiter.clear(self._per_user, "login-user", username)


def login(
    session: Session,
    guard: LoginGuard,
    settings: Settings,
    *,
    username: str,
    password: str,
    ip: str,
    user_agent: str | None,
) -> IssuedToken:
    username = username.strip().lower()
    guard.check(username, ip)
    user = repository.get_user_by_username(session, username)
    if user is None:
        burn_verification_time(password)
        guard.failed(username, ip)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        guard.failed(username, ip)
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    guard.succeeded(username)
    now = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    secret = random_token()
    token = StaffToken(
        id=new_id(),
        user_id=user.id,
        token_hash=sha256_hex(secret),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.staff_token_ttl_minutes),
        created_ip=ip[:64],
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(token)
    return IssuedToken(access_token=secret, expires_at=token.expires_at, user=user)


def authenticate(session: Session, bearer_token: str, *, ip: str | None = None) -> Actor:
    """The staff actor a bearer token stands for; TokenInvalid when unknown, expired, revoked or disabled."""
    found = repository.token_with_user(session, sha256_hex(bearer_token))
    if found is None:
        raise TokenInvalid()
    token, user = found
    if token.revoked_at is not None or token.expires_at <= utcnow() or not user.is_active:
        raise TokenInvalid()
    return Actor(
        kind="staff",
        id=str(user.id),
        label=user.username,
        role=user.role,
        station_id=user.station_id,
        partner_code=user.partner_code,
        permissions=permissions_of(user.role),
        ip=ip,
    )


def logout(session: Session, bearer_token: str) -> None:
    found = repository.token_with_user(session, sha256_hex(bearer_token))
    if found is not None and found[0].revoked_at is None:
        found[0].revoked_at = utcnow()


def purge_expired_tokens(session: Session, now: datetime) -> int:
    """Delete tokens that expired more than a day ago (they can no longer authenticate anyway)."""
    return repository.delete_tokens_expired_before(session, now - timedelta(days=1))
