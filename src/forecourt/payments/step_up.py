"""The SMS step-up that makes a member-app device known to the risk rules (SPEC X3).

A member paying from a device they never verified gets ``risk_step_up_required``; the app then asks
for a code (``send_device_code``: texted to the member's own phone, never to a number the request
names) and sends it back with the device id (``verify_device``), after which
``risk.service.confirm_device`` records the device and payments from it pass.

The codes follow the login codes of ``forecourt.members.member_auth`` — 6 digits, 5 minutes, 5
tries, one per 60 s, the same per-phone and per-IP SMS limits, only a keyed digest stored in
``sms_codes`` — under their own purpose, and the digest binds the device id: a code asked for one
device does not verify another. A wrong code is 400 (``step_up_code_wrong``), not the login's 401,
because the member's session is fine; only the code is not.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forecourt.errors import Conflict, InvalidRequest
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.members.errors import SmsCooldown
from forecourt.members.member_auth import CODE_TTL, MAX_TRIES, RESEND_COOLDOWN, SmsLimits
from forecourt.members.models import Member, SmsCode
from forecourt.members.pii import Pii
from forecourt.members.sms import SmsProvider
from forecourt.risk import service as risk

PURPOSE = "device_step_up"
DEVICE_ID = r"^[A-Za-z0-9._:-]+$"
"""What a device id may hold (an app installation id, a UUID, an Android id)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepUpRequest(Strict):
    device_id: str = Field(min_length=1, max_length=64, pattern=DEVICE_ID)


class StepUpSent(Strict):
    device_id: str
    resend_after: datetime


class DeviceVerify(Strict):
    device_id: str = Field(min_length=1, max_length=64, pattern=DEVICE_ID)
    code: str = Field(min_length=1, max_length=12)


class DeviceVerified(Strict):
    device_id: str
    verified: bool


class StepUpUnavailable(Conflict):
    code = "step_up_unavailable"
    default_message = "The member has no phone to send a code to."


class StepUpCodeInvalid(InvalidRequest):
    code = "step_up_code_invalid"
    default_message = "The code is wrong or has expired; ask for a new one."


class StepUpCodeWrong(StepUpCodeInvalid):
    """A wrong code: the try is counted even though the request fails."""

    code = "step_up_code_wrong"
    default_message = "The code is wrong."
    keeps_changes = True


class StepUpCodeLocked(Conflict):
    code = "step_up_code_locked"
    default_message = "Too many wrong codes; ask for a new one."


class StepUpCodeNowLocked(StepUpCodeLocked):
    keeps_changes = True


def _digest(secret_key: str, phone_index: str, device_id: str, code: str) -> str:
    message = f"sms-device\x00{phone_index}\x00{device_id}\x00{code}".encode()
    return hmac.new(secret_key.encode(), message, "sha256").hexdigest()


def _phone(pii: Pii, member: Member) -> tuple[str, str]:
    phone = pii.open("phone", member.phone)
    if phone is None or member.phone_index is None:
        raise StepUpUnavailable()
    return phone, member.phone_index


def send_device_code(
    session: Session,
    pii: Pii,
    provider: SmsProvider,
    limits: SmsLimits,
    member: Member,
    device_id: str,
    *,
    ip: str,
    brand: str,
) -> datetime:
    """Text a fresh code for ``device_id`` to the member's phone; returns when the next one may be
    asked for. An earlier unused step-up code stops working."""
    phone, phone_index = _phone(pii, member)
    now = utcnow()
    latest = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == PURPOSE)
        .order_by(SmsCode.created_at.desc())
        .limit(1)
    )
    if latest is not None and latest.created_at > now - RESEND_COOLDOWN:
        wait = latest.created_at + RESEND_COOLDOWN - now
        raise SmsCooldown(retry_after=max(1, int(wait.total_seconds()) + 1))
    limits.check(phone_index, ip)
    session.execute(
        update(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == PURPOSE, SmsCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        SmsCode(
            id=new_id(),
            phone_index=phone_index,
            purpose=PURPOSE,
            code_digest=_digest(pii.secret_key, phone_index, device_id, code),
            attempts=0,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    provider.send(
        session,
        pii,
        phone,
        f"【{brand}】您正在新设备上使用会员钱包，验证码为{code}，5分钟内有效。如非本人操作，请勿告知他人。",
    )
    return now + RESEND_COOLDOWN


def verify_device(session: Session, pii: Pii, member: Member, device_id: str, code: str) -> None:
    """Check the code texted for ``device_id``; when right, the device becomes known to the risk
    rules (``risk.service.confirm_device``). A wrong code counts as a try."""
    _, phone_index = _phone(pii, member)
    now = utcnow()
    current = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == PURPOSE, SmsCode.consumed_at.is_(None))
        .order_by(SmsCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if current is None or current.expires_at <= now:
        raise StepUpCodeInvalid()
    if current.attempts >= MAX_TRIES:
        raise StepUpCodeLocked()
    expected = _digest(pii.secret_key, phone_index, device_id, code.strip())
    if not hmac.compare_digest(current.code_digest, expected):
        current.attempts += 1
        session.flush()
        if current.attempts >= MAX_TRIES:
            raise StepUpCodeNowLocked()
        raise StepUpCodeWrong(tries_left=MAX_TRIES - current.attempts)
    current.consumed_at = now
    session.flush()
    risk.confirm_device(session, member.id, device_id, now)
