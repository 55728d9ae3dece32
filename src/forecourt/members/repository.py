"""Every query of the members context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from forecourt.db.keyset import before_key
from forecourt.members.models import (
    ConsentEvent,
    Member,
    MemberPlate,
    MemberTag,
    PlateTransfer,
    SmsCode,
    SmsMessage,
    Tag,
    Vehicle,
)


def get(session: Session, member_id: uuid.UUID) -> Member | None:
    return session.get(Member, member_id)


def get_for_update(session: Session, member_id: uuid.UUID) -> Member | None:
    return session.scalar(select(Member).where(Member.id == member_id).with_for_update())


def by_phone_index(session: Session, phone_index: str) -> Member | None:
    return session.scalar(select(Member).where(Member.phone_index == phone_index))


def by_card_no(session: Session, card_no: str) -> Member | None:
    return session.scalar(select(Member).where(Member.card_no == card_no))


def by_code_id(session: Session, code_id: str) -> Member | None:
    return session.scalar(select(Member).where(Member.code_id == code_id))


def by_referral_code(session: Session, code: str) -> Member | None:
    return session.scalar(select(Member).where(Member.referral_code == code))


def by_plate(session: Session, plate: str) -> Member | None:
    return session.scalar(
        select(Member)
        .join(MemberPlate, MemberPlate.member_id == Member.id)
        .where(MemberPlate.plate == plate, MemberPlate.released_at.is_(None))
    )


def active_plate(session: Session, plate: str) -> MemberPlate | None:
    return session.scalar(
        select(MemberPlate).where(MemberPlate.plate == plate, MemberPlate.released_at.is_(None))
    )


def plates_of(
    session: Session, member_id: uuid.UUID, *, include_released: bool = False
) -> Sequence[MemberPlate]:
    query = select(MemberPlate).where(MemberPlate.member_id == member_id)
    if not include_released:
        query = query.where(MemberPlate.released_at.is_(None))
    return session.scalars(query.order_by(MemberPlate.bound_at, MemberPlate.id)).all()


def search(
    session: Session,
    *,
    member_ids: Sequence[uuid.UUID] | None,
    name_index: str | None,
    tag_id: uuid.UUID | None,
    include_deleted: bool,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Member]:
    """Newest first; ``before`` is the (created_at, id) of the previous page's last member."""
    query = select(Member).order_by(Member.created_at.desc(), Member.id.desc()).limit(limit)
    if member_ids is not None:
        query = query.where(Member.id.in_(member_ids))
    if name_index is not None:
        query = query.where(Member.name_index == name_index)
    if tag_id is not None:
        query = query.join(MemberTag, MemberTag.member_id == Member.id).where(MemberTag.tag_id == tag_id)
    if not include_deleted:
        query = query.where(Member.status == "active")
    if before is not None:
        query = query.where(before_key((Member.created_at, Member.id), before))
    return session.scalars(query).all()


def vehicles_of(session: Session, member_id: uuid.UUID) -> Sequence[Vehicle]:
    return session.scalars(
        select(Vehicle).where(Vehicle.member_id == member_id).order_by(Vehicle.created_at, Vehicle.id)
    ).all()


def consents_of(session: Session, member_id: uuid.UUID) -> Sequence[ConsentEvent]:
    return session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.member_id == member_id)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    ).all()


def transfers_involving(session: Session, member_id: uuid.UUID) -> Sequence[PlateTransfer]:
    return session.scalars(
        select(PlateTransfer)
        .where((PlateTransfer.from_member_id == member_id) | (PlateTransfer.to_member_id == member_id))
        .order_by(PlateTransfer.requested_at, PlateTransfer.id)
    ).all()


def transfers(
    session: Session, *, status: str | None, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[PlateTransfer]:
    query = (
        select(PlateTransfer)
        .order_by(PlateTransfer.requested_at.desc(), PlateTransfer.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(PlateTransfer.status == status)
    if before is not None:
        query = query.where(before_key((PlateTransfer.requested_at, PlateTransfer.id), before))
    return session.scalars(query).all()


def pending_transfers_of_plate(session: Session, plate: str) -> Sequence[PlateTransfer]:
    return session.scalars(
        select(PlateTransfer).where(PlateTransfer.plate == plate, PlateTransfer.status == "pending")
    ).all()


def tags_of(session: Session, member_id: uuid.UUID) -> Sequence[tuple[Tag, MemberTag]]:
    rows = session.execute(
        select(Tag, MemberTag)
        .join(MemberTag, MemberTag.tag_id == Tag.id)
        .where(MemberTag.member_id == member_id)
        .order_by(Tag.code)
    ).all()
    return [(tag, link) for tag, link in rows]


def texts_to(session: Session, phone_index: str) -> Sequence[SmsMessage]:
    """Text messages sent to a phone, oldest first."""
    return session.scalars(
        select(SmsMessage)
        .where(SmsMessage.phone_index == phone_index)
        .order_by(SmsMessage.created_at, SmsMessage.id)
    ).all()


def codes_sent_to(session: Session, phone_index: str) -> Sequence[SmsCode]:
    """One-time codes sent to a phone, oldest first."""
    return session.scalars(
        select(SmsCode).where(SmsCode.phone_index == phone_index).order_by(SmsCode.created_at, SmsCode.id)
    ).all()


def count_active_plates(session: Session, member_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(MemberPlate)
            .where(MemberPlate.member_id == member_id, MemberPlate.released_at.is_(None))
        )
        or 0
    )


def delete_rows_of(session: Session, model: type, member_column: str, member_id: uuid.UUID) -> int:
    result = session.execute(delete(model).where(getattr(model, member_column) == member_id))
    return int(getattr(result, "rowcount", 0) or 0)


def active_ids(
    session: Session, *, member_ids: Sequence[uuid.UUID] = (), tag_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Active members among ``member_ids``, and those carrying the tag, in that order, once each."""
    found: dict[uuid.UUID, None] = {}
    if member_ids:
        known = set(
            session.scalars(
                select(Member.id).where(Member.id.in_(list(member_ids)), Member.status == "active")
            )
        )
        found.update((member_id, None) for member_id in member_ids if member_id in known)
    if tag_id is not None:
        tagged = session.scalars(
            select(Member.id)
            .join(MemberTag, MemberTag.member_id == Member.id)
            .where(MemberTag.tag_id == tag_id, Member.status == "active")
            .order_by(Member.id)
        )
        found.update((member_id, None) for member_id in tagged)
    return list(found)


def ids_with_birthday_on(session: Session, month: int, days: Sequence[int]) -> list[uuid.UUID]:
    """Active members born on one of ``days`` of ``month`` (any year)."""
    from sqlalchemy import extract

    return list(
        session.scalars(
            select(Member.id)
            .where(
                Member.status == "active",
                extract("month", Member.birthday) == month,
                extract("day", Member.birthday).in_(list(days)),
            )
            .order_by(Member.id)
        )
    )
