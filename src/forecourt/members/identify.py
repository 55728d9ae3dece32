"""Finding the member at the pump: by phone, plate, card number or the rotating member code."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from forecourt.members import repository
from forecourt.members.errors import InvalidMemberCode, MemberNotFound
from forecourt.members.member_code import split_code, verify_otp
from forecourt.members.models import Member
from forecourt.members.phones import normalise_phone
from forecourt.members.pii import Pii
from forecourt.members.plates import parse_plate
from forecourt.members.service import code_secret_of, get_by_card_no

IdentifierType = Literal["phone", "plate", "member_code", "card_no"]


def identify(session: Session, pii: Pii, kind: IdentifierType, value: str, now: datetime) -> Member:
    """The active member an identifier names; a malformed value is its own error (invalid_phone,
    invalid_plate, invalid_card_no), a stale or forged member code is ``invalid_member_code``."""
    member: Member | None
    if kind == "phone":
        member = repository.by_phone_index(session, pii.phone_index(normalise_phone(value)))
    elif kind == "plate":
        member = repository.by_plate(session, parse_plate(value).number)
    elif kind == "card_no":
        return get_by_card_no(session, value)
    else:
        member = _by_member_code(session, pii, value.strip(), now)
    if member is None or member.status != "active":
        raise MemberNotFound(identifier=kind)
    return member


def _by_member_code(session: Session, pii: Pii, code: str, now: datetime) -> Member:
    parts = split_code(code)
    if parts is None:
        raise InvalidMemberCode()
    code_id, otp = parts
    member = repository.by_code_id(session, code_id)
    if member is None or member.status != "active" or not verify_otp(code_secret_of(pii, member), otp, now):
        raise InvalidMemberCode()
    return member
