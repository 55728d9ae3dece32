"""Members as the APIs show them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.members import repository
from forecourt.members.facts import facts_of
from forecourt.members.models import Member
from forecourt.members.schemas import (
    MemberDetail,
    MemberSummary,
    PlateRead,
    Points,
    TagRef,
    TierRef,
    VehicleRead,
    Wallet,
)
from forecourt.members.service import Personal, completion
from forecourt.stations import service as stations


def member_detail(session: Session, member: Member, data: Personal) -> MemberDetail:
    facts = facts_of(session, member)
    home = (
        stations.get_station_by_id(session, member.home_station_id).code if member.home_station_id else None
    )
    return MemberDetail(
        id=member.id,
        status=member.status,
        card_no=member.card_no,
        phone=data.phone,
        name=data.name,
        id_number=data.id_number,
        masked=data.masked,
        gender=member.gender,
        birthday=member.birthday,
        occupation=member.occupation,
        home_station=home,
        marketing_consent=member.marketing_consent,
        referral_code=member.referral_code,
        source=member.source,
        plates=[
            PlateRead(plate=row.plate, kind=row.kind, bound_at=row.bound_at)
            for row in repository.plates_of(session, member.id)
        ],
        tags=[TagRef(code=tag.code, name=tag.name) for tag, _ in repository.tags_of(session, member.id)],
        profile_completion=completion(session, member),
        points=Points(available=facts.points_available, pending=facts.points_pending),
        tier=TierRef(code=facts.tier_code, name=facts.tier_name),
        wallet=Wallet(balance_fen=facts.wallet_balance_fen),
        vehicles=[VehicleRead.model_validate(v) for v in repository.vehicles_of(session, member.id)],
        created_at=member.created_at,
    )


def member_summary(session: Session, member: Member, data: Personal) -> MemberSummary:
    return MemberSummary(
        id=member.id,
        card_no=member.card_no,
        phone=data.phone,
        name=data.name,
        plates=[row.plate for row in repository.plates_of(session, member.id)],
        status=member.status,
        created_at=member.created_at,
    )
