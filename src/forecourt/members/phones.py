"""Mainland China mobile numbers: validated and normalised with ``phonenumbers`` (E.164)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from forecourt.members.errors import InvalidPhone

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_phone(raw: str) -> str:
    """``138 1234 5678``, ``+86-138-1234-5678``, full-width digits → ``+8613812345678``.

    InvalidPhone for anything that is not a mainland mobile number."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(phone=raw)
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException as exc:
        raise InvalidPhone(phone=raw) from exc
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise InvalidPhone(phone=raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_number(e164: str) -> str:
    """``+8613812345678`` → ``13812345678``."""
    return e164.removeprefix("+86")


def mask_phone(e164: str) -> str:
    """``+8613812341234`` → ``138****1234``."""
    digits = national_number(e164)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"
