"""Member login by SMS one-time code, and member sessions (access + refresh tokens).

A code: 6 digits, valid 5 minutes, at most 5 tries, a new one at most every 60 s per phone, and
moving-window limits per phone and per client IP. Only an HMAC of (phone, code) is stored. The first
successful login of an unknown phone registers the member (self-registration).

Tokens are random; only their SHA-256 digests are stored. Refreshing rotates both tokens; a refresh
token presented again after rotation means it leaked, and ends every session of the member.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.crypto import sha256_hex
from forecourt.kit.ids import new_id, random_token
from forecourt.kit.ratelimit import RateLimiter
from forecourt.members import repository
from forecourt.members.errors import (
    MemberTokenInvalid,
    SmsCodeInvalid,
    SmsCodeLocked,
    SmsCooldown,
    SmsRateLimited,
)
from forecourt.members.models import Member, MemberToken, SmsCode
from forecourt.members.phones import normalise_phone
from forecourt.members.pii import Pii
from forecourt.members.service import Registration, register
from forecourt.members.sms import SmsProvider

CODE_TTL = timedelta(minutes=5)
RESEND_COOLDOWN = timedelta(seconds=60)
MAX_TRIES = 5


class SmsCodeWrong(SmsCodeInvalid):
    """A wrong code: the try is counted even though the request fails."""

    keeps_changes = True


class SmsCodeNowLocked(SmsCodeLocked):
    keeps_changes = True


@dataclass(frozen=True)
class SmsLimits:
    """Codes per phone and per client IP on a moving window (``FORECOURT_SMS_LIMIT_PER_PHONE`` and
    ``…_PER_IP``). A request refused by one limit uses up nothing of the other."""

    limiter: RateLimiter
    per_phone: str
    per_ip: str

    def check(self, phone_index: str, ip: str) -> None:
        limits = [
            (self.limiter.limit(self.per_phone), ("sms-phone", phone_index)),
            (self.limiter.limit(self.per_ip), ("sms-ip", ip)),
        ]
        for item, key in limits:
            if not self.limiter.would_allow(item, *key):
                raise SmsRateLimited(retry_after=self.limiter.retry_after(item, *key))
        for item, key in limits:
            if not self.limiter.hit(item, *key):
                raise SmsRateLimited(retry_after=self.limiter.retry_after(item, *key))


def _digest(secret_key: str, phone_index: str, code: str) -> str:
    return hmac.new(secret_key.encode(), f"sms\x00{phone_index}\x00{code}".encode(), "sha256").hexdigest()


def send_login_code(
    session: Session, pii: Pii, provider: SmsProvider, limits: SmsLimits, *, phone: str, ip: str, brand: str
) -> datetime:
    """Text a fresh code to the phone; returns when the next one may be asked for."""
    e164 = normalise_phone(phone)
    phone_index = pii.phone_index(e164)
    now = utcnow()
    latest = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == "login")
        .order_by(SmsCode.created_at.desc())
        .limit(1)
    )
    if latest is not None and latest.created_at > now - RESEND_COOLDOWN:
        wait = latest.created_at + RESEND_COOLDOWN - now
        raise SmsCooldown(retry_after=max(1, int(wait.total_seconds()) + 1))
    limits.check(phone_index, ip)
    session.execute(
        update(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == "login", SmsCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        SmsCode(
            id=new_id(),
            phone_index=phone_index,
            purpose="login",
            code_digest=_digest(pii.secret_key, phone_index, code),
            attempts=0,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    provider.send(
        session, pii, e164, f"【{brand}】您的登录验证码为{code}，5分钟内有效。如非本人操作，请忽略。"
    )
    return now + RESEND_COOLDOWN


def check_login_code(session: Session, pii: Pii, *, phone: str, code: str) -> str:
    """The normalised phone when the code is right; counts a wrong try against the code."""
    e164 = normalise_phone(phone)
    phone_index = pii.phone_index(e164)
    now = utcnow()
    current = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == "login", SmsCode.consumed_at.is_(None))
        .order_by(SmsCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if current is None or current.expires_at <= now:
        raise SmsCodeInvalid()
    if current.attempts >= MAX_TRIES:
        raise SmsCodeLocked()
    if not hmac.compare_digest(current.code_digest, _digest(pii.secret_key, phone_index, code.strip())):
        current.attempts += 1
        if current.attempts >= MAX_TRIES:
            raise SmsCodeNowLocked()
        raise SmsCodeWrong(tries_left=MAX_TRIES - current.attempts)
    current.consumed_at = now
    return e164


@dataclass(frozen=True)
class MemberSession:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    member: Member
    registered: bool = False


def login_with_code(
    session: Session,
    pii: Pii,
    settings: Settings,
    *,
    phone: str,
    code: str,
    referral_code: str | None = None,
    marketing_consent: bool = False,
) -> MemberSession:
    e164 = check_login_code(session, pii, phone=phone, code=code)
    member = repository.by_phone_index(session, pii.phone_index(e164))
    registered = False
    if member is None:
        actor = Actor(kind="member", id=None, label="self-registration")
        member = register(
            session,
            actor,
            pii,
            Registration(phone=e164, referral_code=referral_code, marketing_consent=marketing_consent),
            source="sms",
        )
        registered = True
    return _issue(session, settings, member, registered=registered)


def _issue(
    session: Session, settings: Settings, member: Member, *, registered: bool = False
) -> MemberSession:
    now = utcnow()
    access, refresh = random_token(), random_token()
    token = MemberToken(
        id=new_id(),
        member_id=member.id,
        access_hash=sha256_hex(access),
        refresh_hash=sha256_hex(refresh),
        access_expires_at=now + timedelta(minutes=settings.member_access_ttl_minutes),
        refresh_expires_at=now + timedelta(days=settings.member_refresh_ttl_days),
        created_at=now,
    )
    session.add(token)
    return MemberSession(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=token.access_expires_at,
        refresh_expires_at=token.refresh_expires_at,
        member=member,
        registered=registered,
    )


class RefreshReused(MemberTokenInvalid):
    """A rotated refresh token came back: every session of the member ends, and that must stick."""

    keeps_changes = True


def refresh(session: Session, settings: Settings, refresh_token: str) -> MemberSession:
    token = session.scalar(
        select(MemberToken).where(MemberToken.refresh_hash == sha256_hex(refresh_token)).with_for_update()
    )
    now = utcnow()
    if token is None or token.refresh_expires_at <= now:
        raise MemberTokenInvalid()
    if token.revoked_at is not None:
        revoke_all(session, token.member_id, now)
        raise RefreshReused()
    member = repository.get(session, token.member_id)
    if member is None or member.status != "active":
        raise MemberTokenInvalid()
    token.revoked_at = now
    return _issue(session, settings, member)


def revoke_all(session: Session, member_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(MemberToken)
        .where(MemberToken.member_id == member_id, MemberToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def logout(session: Session, access_token: str) -> None:
    token = session.scalar(select(MemberToken).where(MemberToken.access_hash == sha256_hex(access_token)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def authenticate(session: Session, access_token: str) -> Member:
    found = session.execute(
        select(MemberToken, Member)
        .join(Member, Member.id == MemberToken.member_id)
        .where(MemberToken.access_hash == sha256_hex(access_token))
    ).first()
    if found is None:
        raise MemberTokenInvalid()
    token, member = found
    if token.revoked_at is not None or token.access_expires_at <= utcnow() or member.status != "active":
        raise MemberTokenInvalid()
    return member


def purge(session: Session, now: datetime) -> dict[str, int]:
    """Forget sessions whose refresh expired and codes older than a day."""
    tokens = session.execute(
        delete(MemberToken).where(MemberToken.refresh_expires_at < now - timedelta(days=1))
    )
    codes = session.execute(delete(SmsCode).where(SmsCode.created_at < now - timedelta(days=1)))
    return {
        "tokens": int(getattr(tokens, "rowcount", 0) or 0),
        "codes": int(getattr(codes, "rowcount", 0) or 0),
    }
