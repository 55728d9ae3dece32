"""Registering members, reading them (masked or, with the right and an audit row, in full),
searching, and editing the profile."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.kit.ids import new_id
from forecourt.members import repository
from forecourt.members.cards import is_valid_card_no, normalise_card_no
from forecourt.members.errors import (
    InvalidCardNumber,
    InvalidProfile,
    InvalidReferralCode,
    MemberDeleted,
    MemberNotFound,
    PhoneTaken,
)
from forecourt.members.identifiers import Identifiers, fresh_identifiers
from forecourt.members.masking import mask_id_number, mask_name
from forecourt.members.member_code import new_code_secret
from forecourt.members.models import ConsentEvent, Member
from forecourt.members.phones import mask_phone, normalise_phone
from forecourt.members.pii import Pii
from forecourt.members.plates import Plate, normalise_plate, parse_plate
from forecourt.stations import service as stations

GENDERS = ("male", "female")
PROFILE_FIELDS = ("name", "gender", "birthday", "occupation", "home_station", "plate", "vehicle")
"""What a complete profile has; each counts the same towards the completion percentage."""


@dataclass(frozen=True)
class Registration:
    phone: str
    name: str | None = None
    gender: str | None = None
    birthday: date | None = None
    occupation: str | None = None
    id_number: str | None = None
    plates: Sequence[str] = ()
    referral_code: str | None = None
    marketing_consent: bool = False
    home_station: str | None = None


@dataclass
class PreparedMember:
    """A registration checked and normalised, ready to insert (shared by staff, SMS and import)."""

    phone: str
    phone_index: str
    name: str | None
    gender: str | None
    birthday: date | None
    occupation: str | None
    id_number: str | None
    plates: list[Plate]
    referred_by_id: uuid.UUID | None
    marketing_consent: bool
    home_station_id: uuid.UUID | None


def _clean_text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > limit:
        raise InvalidProfile(f"The {what} is longer than {limit} characters.", field=what)
    return value or None


def check_gender(gender: str | None) -> str | None:
    if gender is None or gender == "":
        return None
    if gender not in GENDERS:
        raise InvalidProfile("Gender is male or female (or left out).", field="gender")
    return gender


def check_birthday(birthday: date | None, today: date) -> date | None:
    if birthday is None:
        return None
    if birthday > today or birthday.year < today.year - 120:
        raise InvalidProfile("The birthday is not a plausible date of birth.", field="birthday")
    return birthday


def prepare(session: Session, pii: Pii, registration: Registration, *, today: date) -> PreparedMember:
    """Validate everything before anything is written: a bad field changes nothing."""
    phone = normalise_phone(registration.phone)
    plates: list[Plate] = []
    for raw in registration.plates:
        plate = parse_plate(raw)
        if plate.number not in {p.number for p in plates}:
            plates.append(plate)
    referred_by_id = None
    if registration.referral_code:
        referrer = repository.by_referral_code(session, registration.referral_code.strip().upper())
        if referrer is None or referrer.status != "active":
            raise InvalidReferralCode(referral_code=registration.referral_code)
        referred_by_id = referrer.id
    home_station_id = (
        stations.get_station(session, registration.home_station).id if registration.home_station else None
    )
    return PreparedMember(
        phone=phone,
        phone_index=pii.phone_index(phone),
        name=_clean_text(registration.name, "name", 50),
        gender=check_gender(registration.gender),
        birthday=check_birthday(registration.birthday, today),
        occupation=_clean_text(registration.occupation, "occupation", 64),
        id_number=_clean_text(registration.id_number, "id_number", 32),
        plates=plates,
        referred_by_id=referred_by_id,
        marketing_consent=registration.marketing_consent,
        home_station_id=home_station_id,
    )


def build_member(
    pii: Pii,
    prepared: PreparedMember,
    identifiers: Identifiers,
    *,
    source: str,
    actor: Actor,
    now: datetime,
    station_id: uuid.UUID | None,
) -> Member:
    return Member(
        id=new_id(),
        status="active",
        card_no=identifiers.card_no,
        code_id=identifiers.code_id,
        code_secret=pii.seal("code_secret", _new_code_secret_text()),
        phone=pii.seal("phone", prepared.phone),
        phone_index=prepared.phone_index,
        name=pii.seal("name", prepared.name),
        name_index=pii.name_index(prepared.name),
        id_number=pii.seal("id_number", prepared.id_number),
        id_number_index=pii.index("id_number", prepared.id_number.upper() if prepared.id_number else None),
        gender=prepared.gender,
        birthday=prepared.birthday,
        occupation=prepared.occupation,
        home_station_id=prepared.home_station_id,
        marketing_consent=prepared.marketing_consent,
        referral_code=identifiers.referral_code,
        referred_by_id=prepared.referred_by_id,
        source=source,
        registered_station_id=station_id,
        registered_by=actor.label if actor.kind == "staff" else None,
        created_at=now,
        updated_at=now,
    )


def _new_code_secret_text() -> str:
    return base64.b64encode(new_code_secret()).decode()


def code_secret_of(pii: Pii, member: Member) -> bytes:
    sealed = pii.open("code_secret", member.code_secret)
    if sealed is None:
        raise MemberDeleted()
    return base64.b64decode(sealed)


def register(
    session: Session,
    actor: Actor,
    pii: Pii,
    registration: Registration,
    *,
    source: str,
    station_id: uuid.UUID | None = None,
) -> Member:
    """A new member with their plates; PhoneTaken when the phone is a member already."""
    from forecourt.members import plate_bindings

    now = utcnow()
    prepared = prepare(session, pii, registration, today=chain_date(now))
    if repository.by_phone_index(session, prepared.phone_index) is not None:
        raise PhoneTaken()
    for plate in prepared.plates:
        plate_bindings.check_plate_free(session, plate.number)
    member = build_member(
        pii,
        prepared,
        next(fresh_identifiers(session)),
        source=source,
        actor=actor,
        now=now,
        station_id=station_id,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError as exc:
        if repository.by_phone_index(session, prepared.phone_index) is not None:
            raise PhoneTaken() from exc
        raise
    for plate in prepared.plates:
        plate_bindings.bind_new(session, member, plate, now)
    if prepared.marketing_consent:
        record_consent(session, actor, member, granted=True, source=source, now=now)
    after_registration(session, actor, member, plates=prepared.plates, now=now)
    return member


def after_registration(
    session: Session, actor: Actor, member: Member, *, plates: Sequence[Plate], now: datetime
) -> None:
    """The audit row and events every new member gets, however they joined."""
    audit.record(
        session,
        actor,
        "member.register",
        "member",
        member.id,
        after={"card_no": member.card_no, "source": member.source, "plates": len(plates)},
    )
    publish(
        session,
        "member.registered",
        {
            "member_id": str(member.id),
            "source": member.source,
            "referred_by_id": str(member.referred_by_id) if member.referred_by_id else None,
            "station_id": str(member.registered_station_id) if member.registered_station_id else None,
            "at": now.isoformat(),
        },
    )
    if plates:
        publish(
            session, "member.plate_bound", {"member_id": str(member.id), "first": True, "at": now.isoformat()}
        )
    update_completion(session, member, now)


def record_consent(
    session: Session, actor: Actor, member: Member, *, granted: bool, source: str, now: datetime
) -> None:
    session.add(
        ConsentEvent(
            id=new_id(),
            member_id=member.id,
            kind="marketing",
            granted=granted,
            source=source,
            actor_label=actor.label,
            occurred_at=now,
        )
    )


# --- reading ----------------------------------------------------------------------------------


def get_member(session: Session, member_id: uuid.UUID, *, allow_deleted: bool = False) -> Member:
    member = repository.get(session, member_id)
    if member is None or (member.status != "active" and not allow_deleted):
        raise MemberNotFound(member_id=str(member_id))
    return member


def completion(session: Session, member: Member) -> int:
    """Percentage of PROFILE_FIELDS the member has filled in."""
    filled = [
        member.name is not None,
        member.gender is not None,
        member.birthday is not None,
        member.occupation is not None,
        member.home_station_id is not None,
        repository.count_active_plates(session, member.id) > 0,
        len(repository.vehicles_of(session, member.id)) > 0,
    ]
    return sum(filled) * 100 // len(PROFILE_FIELDS)


def update_completion(session: Session, member: Member, now: datetime) -> None:
    """Record the moment a profile first becomes complete and tell the rules (a reward may follow)."""
    if member.profile_completed_at is None and completion(session, member) == 100:
        member.profile_completed_at = now
        publish(session, "member.profile_completed", {"member_id": str(member.id), "at": now.isoformat()})


@dataclass(frozen=True)
class Personal:
    """A member's personal data as a given viewer may see it."""

    phone: str | None
    name: str | None
    id_number: str | None
    masked: bool


def personal(pii: Pii, member: Member, *, reveal: bool) -> Personal:
    phone = pii.open("phone", member.phone)
    name = pii.open("name", member.name)
    id_number = pii.open("id_number", member.id_number)
    if reveal:
        return Personal(phone=phone, name=name, id_number=id_number, masked=False)
    return Personal(
        phone=mask_phone(phone) if phone else None,
        name=mask_name(name),
        id_number=mask_id_number(id_number),
        masked=True,
    )


def reveal(session: Session, actor: Actor, pii: Pii, member: Member) -> Personal:
    """The unmasked personal data; every call leaves an audit row."""
    audit.record(
        session, actor, "member.reveal", "member", member.id, after={"fields": ["phone", "name", "id_number"]}
    )
    return personal(pii, member, reveal=True)


@dataclass(frozen=True)
class SearchQuery:
    phone: str | None = None
    plate: str | None = None
    card_no: str | None = None
    name: str | None = None
    tag: str | None = None
    include_deleted: bool = False


def search(
    session: Session,
    pii: Pii,
    query: SearchQuery,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Member]:
    """Exact matches on phone, plate, card number or name (encrypted fields match by blind index)."""
    from forecourt.members import tags

    ids: set[uuid.UUID] | None = None

    def narrow(found: Member | None) -> None:
        nonlocal ids
        matched = {found.id} if found is not None else set()
        ids = matched if ids is None else ids & matched

    if query.phone:
        narrow(repository.by_phone_index(session, pii.phone_index(normalise_phone(query.phone))))
    if query.plate:
        narrow(repository.by_plate(session, normalise_plate(query.plate)))
    if query.card_no:
        narrow(repository.by_card_no(session, normalise_card_no(query.card_no)))
    tag_id = tags.get_tag(session, query.tag).id if query.tag else None
    return repository.search(
        session,
        member_ids=sorted(ids) if ids is not None else None,
        name_index=pii.name_index(query.name) if query.name else None,
        tag_id=tag_id,
        include_deleted=query.include_deleted,
        before=before,
        limit=limit,
    )


def get_by_card_no(session: Session, raw: str) -> Member:
    card_no = normalise_card_no(raw)
    if not is_valid_card_no(card_no):
        raise InvalidCardNumber(card_no=raw)
    member = repository.by_card_no(session, card_no)
    if member is None or member.status != "active":
        raise MemberNotFound()
    return member


# --- editing ----------------------------------------------------------------------------------

UNCHANGED: Any = object()


def update_profile(
    session: Session,
    actor: Actor,
    pii: Pii,
    member: Member,
    *,
    source: str,
    name: Any = UNCHANGED,
    gender: Any = UNCHANGED,
    birthday: Any = UNCHANGED,
    occupation: Any = UNCHANGED,
    id_number: Any = UNCHANGED,
    home_station: Any = UNCHANGED,
    marketing_consent: Any = UNCHANGED,
) -> Member:
    """Change the given fields (None clears one). The audit row names the fields, never their values
    when they are personal data."""
    now = utcnow()
    changed: dict[str, Any] = {}
    if name is not UNCHANGED:
        cleaned = _clean_text(name, "name", 50)
        member.name = pii.seal("name", cleaned)
        member.name_index = pii.name_index(cleaned)
        changed["name"] = mask_name(cleaned)
    if id_number is not UNCHANGED:
        cleaned = _clean_text(id_number, "id_number", 32)
        member.id_number = pii.seal("id_number", cleaned)
        member.id_number_index = pii.index("id_number", cleaned.upper() if cleaned else None)
        changed["id_number"] = mask_id_number(cleaned)
    if gender is not UNCHANGED:
        member.gender = check_gender(gender)
        changed["gender"] = member.gender
    if birthday is not UNCHANGED:
        member.birthday = check_birthday(birthday, chain_date(now))
        changed["birthday"] = member.birthday
    if occupation is not UNCHANGED:
        member.occupation = _clean_text(occupation, "occupation", 64)
        changed["occupation"] = member.occupation
    if home_station is not UNCHANGED:
        member.home_station_id = stations.get_station(session, home_station).id if home_station else None
        changed["home_station"] = home_station
    if marketing_consent is not UNCHANGED and bool(marketing_consent) != member.marketing_consent:
        member.marketing_consent = bool(marketing_consent)
        record_consent(session, actor, member, granted=member.marketing_consent, source=source, now=now)
        changed["marketing_consent"] = member.marketing_consent
    if not changed:
        return member
    member.updated_at = now
    audit.record(session, actor, "member.update", "member", member.id, after=changed)
    update_completion(session, member, now)
    return member


def active_member_ids(
    session: Session, *, member_ids: Sequence[uuid.UUID] = (), tag: str | None = None
) -> list[uuid.UUID]:
    """The active members among ``member_ids`` and those tagged ``tag`` (erased and unknown ids
    left out), once each: whom a campaign reaches."""
    from forecourt.members import tags

    tag_id = tags.get_tag(session, tag).id if tag else None
    return repository.active_ids(session, member_ids=member_ids, tag_id=tag_id)


def ids_with_birthday_on(session: Session, month: int, days: Sequence[int]) -> list[uuid.UUID]:
    """Active members born on one of ``days`` of ``month`` (any year)."""
    return repository.ids_with_birthday_on(session, month, days)
