"""Fresh card numbers, member-code ids and referral codes, unique against the database.

All three are random (nothing sequential to enumerate). A random space still collides now and then
at millions of members, so candidates are checked against the table in one query per batch.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.cards import new_card_no
from forecourt.members.member_code import new_code_id
from forecourt.members.models import Member

REFERRAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""No 0/O or 1/I/L: people read referral codes aloud and type them."""


@dataclass(frozen=True)
class Identifiers:
    card_no: str
    code_id: str
    referral_code: str


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


def _taken(session: Session, column: str, values: list[str]) -> set[str]:
    attribute = getattr(Member, column)
    return set(session.scalars(select(attribute).where(attribute.in_(values))))


def _unique_values(session: Session, column: str, count: int, make: Callable[[], str]) -> list[str]:
    values: dict[str, None] = {}
    while len(values) < count:
        candidates = [
            value
            for value in dict.fromkeys(make() for _ in range(count - len(values)))
            if value not in values
        ]
        taken = _taken(session, column, candidates)
        values.update((value, None) for value in candidates if value not in taken)
    return list(values)


def fresh_identifiers(session: Session, count: int = 1) -> Iterator[Identifiers]:
    cards = _unique_values(session, "card_no", count, new_card_no)
    codes = _unique_values(session, "code_id", count, new_code_id)
    referrals = _unique_values(session, "referral_code", count, new_referral_code)
    for card_no, code_id, referral_code in zip(cards, codes, referrals, strict=True):
        yield Identifiers(card_no=card_no, code_id=code_id, referral_code=referral_code)
