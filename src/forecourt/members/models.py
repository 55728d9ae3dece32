"""Members and what identifies them. Phone, name and ID number are stored only encrypted, each with
a keyed blind index for exact look-up (see ``forecourt.members.pii``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base
from forecourt.kit.ids import new_id


class Member(Base):
    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    """Also the pseudonymous reference that outlives the member's personal data."""
    status: Mapped[str] = mapped_column(String(16), default="active")
    """``active`` or ``deleted`` (personal data erased)."""
    card_no: Mapped[str | None] = mapped_column(String(16), unique=True)
    code_id: Mapped[str | None] = mapped_column(String(10), unique=True)
    """The member-code part that names the member; the rest of the code is a TOTP."""
    code_secret: Mapped[str | None] = mapped_column(String(200))
    """Encrypted TOTP secret of the member code."""
    phone: Mapped[str | None] = mapped_column(String(200))
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(400))
    name_index: Mapped[str | None] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(200))
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(8))
    birthday: Mapped[date | None] = mapped_column(Date())
    occupation: Mapped[str | None] = mapped_column(String(64))
    home_station_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stations.id"))
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    referral_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    referred_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    source: Mapped[str] = mapped_column(String(16))
    """How the member joined: ``staff``, ``sms`` (self-registration) or ``import``."""
    registered_station_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stations.id"))
    registered_by: Mapped[str | None] = mapped_column(String(100))
    profile_completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_members_name_index", "name_index"),
        Index("ix_members_id_number_index", "id_number_index"),
        Index("ix_members_created_at_id", "created_at", "id"),
        Index("ix_members_referred_by_id", "referred_by_id"),
    )


class MemberPlate(Base):
    """A plate bound to a member; ``released_at`` ends the binding. One active owner per plate."""

    __tablename__ = "member_plates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    plate: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    bound_at: Mapped[datetime]
    released_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_member_plates_member_id", "member_id"),
        Index(
            "uq_member_plates_active_plate",
            "plate",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )


class PlateTransfer(Base):
    """A member asks for a plate another member holds; staff approve or reject."""

    __tablename__ = "plate_transfers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    plate: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    from_member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    to_member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``approved``, ``rejected`` or ``cancelled``."""
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        Index("ix_plate_transfers_status_requested_at", "status", "requested_at"),
        Index("ix_plate_transfers_from_member_id", "from_member_id"),
        Index("ix_plate_transfers_to_member_id", "to_member_id"),
        Index(
            "uq_plate_transfers_pending",
            "plate",
            "to_member_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    plate: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(100), default="")
    displacement_cc: Mapped[int | None]
    fuel_preference: Mapped[str | None] = mapped_column(ForeignKey("grades.code"))
    yearly_mileage_km: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_vehicles_member_id", "member_id"),)


class ConsentEvent(Base):
    """The consent log: every grant or withdrawal, never edited."""

    __tablename__ = "member_consents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(16))
    actor_label: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime]

    __table_args__ = (Index("ix_member_consents_member_id", "member_id"),)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    """``manual`` (staff assign) or ``computed`` (a job assigns from data)."""
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]


class MemberTag(Base):
    __tablename__ = "member_tags"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_member_tags_tag_id", "tag_id"),)


class MemberToken(Base):
    """A member's session: access and refresh tokens, stored as SHA-256 digests only."""

    __tablename__ = "member_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_member_tokens_member_id", "member_id"),
        Index("ix_member_tokens_refresh_expires_at", "refresh_expires_at"),
    )


class SmsCode(Base):
    """A one-time login code; only a keyed digest of (phone, code) is stored."""

    __tablename__ = "sms_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    phone_index: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    code_digest: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_sms_codes_phone_index_created_at", "phone_index", "created_at"),)


class SmsMessage(Base):
    """Every text message handed to the SMS provider; the inbox provider's whole delivery."""

    __tablename__ = "sms_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    phone: Mapped[str] = mapped_column(String(200))
    """Encrypted recipient."""
    phone_index: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_sms_messages_phone_index", "phone_index"),)


class MemberImport(Base):
    """One run of the member import; the row-by-row report is kept encrypted (it quotes phones)."""

    __tablename__ = "member_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    total_rows: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text())
    created_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
