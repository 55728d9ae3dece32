"""The rotating member code a member shows at the pump, and its QR image.

An 18-digit code: ``66`` + the member's 10-digit code id (random, not the card number) + a 6-digit
TOTP (RFC 6238, 30 s step) over a per-member secret. The POS accepts the current and the previous
step, so a code is good for 30 to 60 seconds; a code whose TOTP does not verify is forged or stale.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

CODE_PREFIX = "66"
CODE_ID_DIGITS = 10
TOTP_DIGITS = 6
STEP_SECONDS = 30
CODE_LENGTH = len(CODE_PREFIX) + CODE_ID_DIGITS + TOTP_DIGITS


@dataclass(frozen=True)
class MemberCode:
    code: str
    valid_until: datetime


def new_code_id() -> str:
    return str(secrets.randbelow(9 * 10 ** (CODE_ID_DIGITS - 1)) + 10 ** (CODE_ID_DIGITS - 1))


def new_code_secret() -> bytes:
    return secrets.token_bytes(20)


def _totp(secret: bytes) -> TOTP:
    # RFC 6238's default HMAC-SHA1, which authenticator apps and POS scanners expect; HMAC-SHA1 is sound.
    return TOTP(secret, TOTP_DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=False)  # noqa: S303


def current_code(code_id: str, secret: bytes, now: datetime) -> MemberCode:
    moment = int(now.timestamp())
    otp = _totp(secret).generate(moment).decode()
    step_end = (moment // STEP_SECONDS + 1) * STEP_SECONDS
    # The previous step is accepted too, so the code is good until one full step after its own ends.
    valid_until = datetime.fromtimestamp(step_end + STEP_SECONDS, UTC)
    return MemberCode(code=CODE_PREFIX + code_id + otp, valid_until=valid_until)


def split_code(code: str) -> tuple[str, str] | None:
    """(code id, otp) of a well-formed code, None otherwise."""
    if (
        len(code) != CODE_LENGTH
        or not code.isascii()
        or not code.isdigit()
        or not code.startswith(CODE_PREFIX)
    ):
        return None
    body = code[len(CODE_PREFIX) :]
    return body[:CODE_ID_DIGITS], body[CODE_ID_DIGITS:]


def verify_otp(secret: bytes, otp: str, now: datetime) -> bool:
    moment = int(now.timestamp())
    totp = _totp(secret)
    for steps_back in (0, 1):
        if secrets.compare_digest(totp.generate(moment - steps_back * STEP_SECONDS), otp.encode()):
            return True
    return False


def qr_svg(code: str) -> str:
    """An SVG QR image of the code, for the member's phone screen."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return buffer.getvalue().decode()
