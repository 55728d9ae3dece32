"""The member's rights over their data: export everything held about them, and erase it.

Every table that holds rows about a member declares how it is exported and erased here (later
contexts register their own sections with ``@export_section``); a test checks that no table with a
member column, or tied to the member by their phone's blind index, is left without one. Erasure
removes personal data beyond recovery but keeps the member row under its pseudonymous id, so ledgers
and their hash chains stay whole. Section erasers run before the member row is scrubbed, so they can
still find rows by its phone index.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.db.session import SCRUB_JOURNAL
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.members import repository
from forecourt.members.member_auth import revoke_all
from forecourt.members.models import (
    Member,
    MemberPlate,
    MemberTag,
    MemberToken,
    PlateTransfer,
    SmsCode,
    SmsMessage,
    Vehicle,
)
from forecourt.members.pii import Pii
from forecourt.members.service import personal

Exporter = Callable[[Session, Pii, Member], Any]
Eraser = Callable[[Session, Member], None]


@dataclass(frozen=True)
class Section:
    name: str
    tables: tuple[str, ...]
    """Every table whose member rows this section exports (and erases or keeps, as it says)."""
    export: Exporter
    erase: Eraser | None
    """None: the rows are kept on erasure because they hold no personal data (ledgers, consent log)."""


SECTIONS: dict[str, Section] = {}
SECTION_MODULES = (
    "forecourt.ledger.member_export",
    "forecourt.tiers.member_export",
    "forecourt.rules.member_export",
    "forecourt.coupons.member_export",
    "forecourt.pos.member_export",
    "forecourt.wallet.member_export",
    "forecourt.payments.member_export",
    "forecourt.risk.member_export",
    "forecourt.invoices.member_export",
)
"""Modules of other contexts whose import registers their sections."""


def sections() -> dict[str, Section]:
    for module in SECTION_MODULES:
        importlib.import_module(module)
    return SECTIONS


def tables_erasure_writes() -> tuple[str, ...]:
    """The tables erasure deletes from or overwrites: the member row and every section that erases.
    Old versions of their rows hold the erased data until PostgreSQL vacuums them."""
    erased = {
        table for section in sections().values() if section.erase is not None for table in section.tables
    }
    return tuple(sorted(erased | {"members"}))


def export_section(
    name: str, tables: tuple[str, ...], erase: Eraser | None = None
) -> Callable[[Exporter], Exporter]:
    def register(function: Exporter) -> Exporter:
        SECTIONS[name] = Section(name, tables, function, erase)
        return function

    return register


def _delete_rows(model: Any) -> Eraser:
    def erase(session: Session, member: Member) -> None:
        session.execute(delete(model).where(model.member_id == member.id))

    return erase


def _rows(objects: Any, *fields: str) -> list[dict[str, Any]]:
    return [{name: getattr(row, name) for name in fields} for row in objects]


def _erase_plates(session: Session, member: Member) -> None:
    session.execute(delete(MemberPlate).where(MemberPlate.member_id == member.id))
    session.execute(
        delete(PlateTransfer).where(
            (PlateTransfer.from_member_id == member.id) | (PlateTransfer.to_member_id == member.id)
        )
    )


@export_section("profile", ("members",))
def _profile(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    data = personal(pii, member, reveal=True)
    return {
        "id": member.id,
        "card_no": member.card_no,
        "phone": data.phone,
        "name": data.name,
        "id_number": data.id_number,
        "gender": member.gender,
        "birthday": member.birthday,
        "occupation": member.occupation,
        "home_station_id": member.home_station_id,
        "marketing_consent": member.marketing_consent,
        "referral_code": member.referral_code,
        "referred_by_id": member.referred_by_id,
        "source": member.source,
        "registered_station_id": member.registered_station_id,
        "created_at": member.created_at,
        "updated_at": member.updated_at,
    }


@export_section("plates", ("member_plates", "plate_transfers"), erase=_erase_plates)
def _plates(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    return {
        "bindings": _rows(
            repository.plates_of(session, member.id, include_released=True),
            "plate",
            "kind",
            "bound_at",
            "released_at",
        ),
        "transfers": [
            {
                "plate": transfer.plate,
                "direction": "outgoing" if transfer.from_member_id == member.id else "incoming",
                "status": transfer.status,
                "requested_at": transfer.requested_at,
                "decided_at": transfer.decided_at,
            }
            for transfer in repository.transfers_involving(session, member.id)
        ],
    }


@export_section(
    "vehicles",
    ("vehicles",),
    erase=_delete_rows(Vehicle),
)
def _vehicles(session: Session, pii: Pii, member: Member) -> list[dict[str, Any]]:
    return _rows(
        repository.vehicles_of(session, member.id),
        "id",
        "plate",
        "model",
        "displacement_cc",
        "fuel_preference",
        "yearly_mileage_km",
        "created_at",
    )


@export_section("consents", ("member_consents",))
def _consents(session: Session, pii: Pii, member: Member) -> list[dict[str, Any]]:
    return _rows(repository.consents_of(session, member.id), "kind", "granted", "source", "occurred_at")


@export_section(
    "tags",
    ("member_tags",),
    erase=_delete_rows(MemberTag),
)
def _tags(session: Session, pii: Pii, member: Member) -> list[dict[str, Any]]:
    return [
        {"code": tag.code, "name": tag.name, "assigned_at": link.assigned_at}
        for tag, link in repository.tags_of(session, member.id)
    ]


@export_section(
    "sessions",
    ("member_tokens",),
    erase=_delete_rows(MemberToken),
)
def _sessions(session: Session, pii: Pii, member: Member) -> list[dict[str, Any]]:
    tokens = session.scalars(
        select(MemberToken).where(MemberToken.member_id == member.id).order_by(MemberToken.created_at)
    )
    return _rows(tokens, "created_at", "access_expires_at", "refresh_expires_at", "revoked_at")


def _erase_texts(session: Session, member: Member) -> None:
    if member.phone_index is None:
        return
    session.execute(delete(SmsMessage).where(SmsMessage.phone_index == member.phone_index))
    session.execute(delete(SmsCode).where(SmsCode.phone_index == member.phone_index))


@export_section("sms", ("sms_messages", "sms_codes"), erase=_erase_texts)
def _texts(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    """Texts sent to the member's phone, and the login codes: when sent, until when valid, how often
    tried — never the code itself (only its keyed digest is held, and that is a secret of ours)."""
    if member.phone_index is None:
        return {"messages": [], "codes": []}
    return {
        "messages": [
            {"sent_at": message.created_at, "text": message.body, "provider": message.provider}
            for message in repository.texts_to(session, member.phone_index)
        ],
        "codes": [
            {
                "purpose": code.purpose,
                "sent_at": code.created_at,
                "expires_at": code.expires_at,
                "attempts": code.attempts,
                "consumed_at": code.consumed_at,
            }
            for code in repository.codes_sent_to(session, member.phone_index)
        ],
    }


@export_section("referrals", ("members",))
def _referrals(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    count = session.scalar(select(func.count()).select_from(Member).where(Member.referred_by_id == member.id))
    return {"referred_by_id": member.referred_by_id, "members_referred": int(count or 0)}


def export(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    """Everything held about the member, as JSON-ready data."""
    document: dict[str, Any] = {"format": "forecourt-member-export/1", "exported_at": utcnow()}
    for name, section in sections().items():
        document[name] = section.export(session, pii, member)
    result: dict[str, Any] = to_jsonable_python(document)
    return result


def erase(session: Session, actor: Actor, member: Member, *, reason: str) -> Member:
    """Erase the member's personal data for good and close the account. Idempotent."""
    if member.status == "deleted":
        return member
    now = utcnow()
    revoke_all(session, member.id, now)
    for section in sections().values():
        if section.erase is not None:
            section.erase(session, member)
    for column in (
        "card_no",
        "code_id",
        "code_secret",
        "phone",
        "phone_index",
        "name",
        "name_index",
        "id_number",
        "id_number_index",
        "gender",
        "birthday",
        "occupation",
        "home_station_id",
        "referral_code",
    ):
        setattr(member, column, None)
    member.marketing_consent = False
    member.status = "deleted"
    member.deleted_at = now
    member.updated_at = now
    audit.record(session, actor, "member.erase", "member", member.id, after={"reason": reason[:200]})
    session.info[SCRUB_JOURNAL] = True
    publish(session, "member.erased", {"member_id": str(member.id), "at": now.isoformat()})
    return member
