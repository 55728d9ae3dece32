"""The member's own API (``/me``): every route acts on the member the token belongs to, and on
nothing else — there is no member id in these paths to tamper with."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette import status

from forecourt.db.session import api_router, get_session
from forecourt.kit.clock import utcnow
from forecourt.members import plate_bindings, privacy, repository, service, vehicles
from forecourt.members.dependencies import CurrentMember, member_actor, pii_of
from forecourt.members.member_code import current_code, qr_svg
from forecourt.members.schemas import (
    MeErase,
    MemberCodeRead,
    MemberDetail,
    PlateBind,
    PlateRead,
    ProfileUpdate,
    TransferRead,
    VehicleRead,
    VehicleUpdate,
    VehicleWrite,
)
from forecourt.members.views import member_detail

router = api_router(prefix="/api/v1/me", tags=["member self-service"])

SessionDep = Annotated[Session, Depends(get_session)]


@router.get("", response_model=MemberDetail)
def read_me(request: Request, session: SessionDep, member: CurrentMember) -> MemberDetail:
    """The member's own data, unmasked (it is theirs)."""
    return member_detail(session, member, service.personal(pii_of(request), member, reveal=True))


@router.patch("", response_model=MemberDetail)
def update_me(
    body: ProfileUpdate, request: Request, session: SessionDep, member: CurrentMember
) -> MemberDetail:
    pii = pii_of(request)
    service.update_profile(
        session,
        member_actor(member, request),
        pii,
        member,
        source="member",
        **body.model_dump(exclude_unset=True),
    )
    return member_detail(session, member, service.personal(pii, member, reveal=True))


@router.get("/plates", response_model=list[PlateRead])
def my_plates(session: SessionDep, member: CurrentMember) -> list[PlateRead]:
    return [
        PlateRead(plate=r.plate, kind=r.kind, bound_at=r.bound_at)
        for r in repository.plates_of(session, member.id)
    ]


@router.post("/plates", response_model=PlateRead, status_code=status.HTTP_201_CREATED)
def bind_my_plate(body: PlateBind, request: Request, session: SessionDep, member: CurrentMember) -> PlateRead:
    """Bind a plate; one another member holds → 409 ``plate_taken`` and a transfer request for staff."""
    row = plate_bindings.bind_plate(session, member_actor(member, request), member, body.plate)
    return PlateRead(plate=row.plate, kind=row.kind, bound_at=row.bound_at)


@router.delete("/plates/{plate}", status_code=status.HTTP_204_NO_CONTENT)
def release_my_plate(plate: str, request: Request, session: SessionDep, member: CurrentMember) -> None:
    plate_bindings.release_plate(session, member_actor(member, request), member, plate)


@router.get("/plate-transfers", response_model=list[TransferRead])
def my_transfers(session: SessionDep, member: CurrentMember) -> list[TransferRead]:
    """Transfer requests the member made or that concern a plate they hold."""
    return [TransferRead.model_validate(t) for t in repository.transfers_involving(session, member.id)]


@router.get("/vehicles", response_model=list[VehicleRead])
def my_vehicles(session: SessionDep, member: CurrentMember) -> list[VehicleRead]:
    return [VehicleRead.model_validate(v) for v in vehicles.vehicles_of(session, member)]


@router.post("/vehicles", response_model=VehicleRead, status_code=status.HTTP_201_CREATED)
def add_my_vehicle(
    body: VehicleWrite, request: Request, session: SessionDep, member: CurrentMember
) -> VehicleRead:
    return VehicleRead.model_validate(
        vehicles.add_vehicle(session, member_actor(member, request), member, **body.model_dump())
    )


@router.patch("/vehicles/{vehicle_id}", response_model=VehicleRead)
def update_my_vehicle(
    vehicle_id: uuid.UUID, body: VehicleUpdate, request: Request, session: SessionDep, member: CurrentMember
) -> VehicleRead:
    vehicle = vehicles.update_vehicle(
        session, member_actor(member, request), member, vehicle_id, **body.model_dump(exclude_unset=True)
    )
    return VehicleRead.model_validate(vehicle)


@router.delete("/vehicles/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_my_vehicle(
    vehicle_id: uuid.UUID, request: Request, session: SessionDep, member: CurrentMember
) -> None:
    vehicles.remove_vehicle(session, member_actor(member, request), member, vehicle_id)


@router.get("/member-code", response_model=MemberCodeRead)
def my_member_code(request: Request, member: CurrentMember) -> MemberCodeRead:
    """The code to show at the pump (good for about a minute) and its QR image as SVG."""
    code = current_code(member.code_id or "", service.code_secret_of(pii_of(request), member), utcnow())
    return MemberCodeRead(code=code.code, valid_until=code.valid_until, qr_svg=qr_svg(code.code))


@router.get("/export")
def export_me(request: Request, session: SessionDep, member: CurrentMember) -> dict[str, Any]:
    """Everything held about the member, as JSON."""
    return privacy.export(session, pii_of(request), member)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def delete_me(body: MeErase, request: Request, session: SessionDep, member: CurrentMember) -> None:
    """Delete the account: personal data erased for good, plates released, sessions ended."""
    privacy.erase(session, member_actor(member, request), member, reason="member request")
