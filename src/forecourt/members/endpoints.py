"""The staff API for members: register, find, read (masked, or revealed and audited), edit,
plates and transfers, vehicles, tags, erasure, import."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, File, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth.dependencies import require
from forecourt.auth.permissions import Permission
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_time_cursor, time_page
from forecourt.members import imports, plate_bindings, privacy, service, tags, vehicles
from forecourt.members.dependencies import pii_of
from forecourt.members.models import Member
from forecourt.members.schemas import (
    EraseRequest,
    ImportReport,
    MemberCreate,
    MemberDetail,
    MemberSummary,
    PlateBind,
    PlateRead,
    StaffProfileUpdate,
    TagAssign,
    TagCreate,
    TagRead,
    TransferDecision,
    TransferRead,
    VehicleRead,
    VehicleUpdate,
    VehicleWrite,
)
from forecourt.members.views import member_detail, member_summary

router = api_router(prefix="/api/v1", tags=["members"])

SessionDep = Annotated[Session, Depends(get_session)]


def _member(session: Session, member_id: uuid.UUID) -> Member:
    return service.get_member(session, member_id)


@router.post("/members", response_model=MemberDetail, status_code=status.HTTP_201_CREATED)
def register_member(
    body: MemberCreate,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> MemberDetail:
    """Register a member at the counter (the attendant's station is recorded)."""
    pii = pii_of(request)
    member = service.register(
        session,
        actor,
        pii,
        service.Registration(**body.model_dump()),
        source="staff",
        station_id=actor.station_id,
    )
    return member_detail(session, member, service.personal(pii, member, reveal=False))


@router.get("/members", response_model=Page[MemberSummary])
def search_members(
    request: Request,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.MEMBERS_READ)],
    phone: str | None = None,
    plate: str | None = None,
    card_no: str | None = None,
    name: str | None = None,
    tag: str | None = None,
    include_deleted: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[MemberSummary]:
    """Find members by exact phone, plate, card number or name, and by tag; newest first, masked."""
    pii = pii_of(request)
    found = service.search(
        session,
        pii,
        service.SearchQuery(
            phone=phone, plate=plate, card_no=card_no, name=name, tag=tag, include_deleted=include_deleted
        ),
        before=decode_time_cursor(cursor),
        limit=limit + 1,
    )
    shown, next_cursor = time_page(found, limit, lambda m: (m.created_at, m.id))
    items = [member_summary(session, m, service.personal(pii, m, reveal=False)) for m in shown]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/members/{member_id}", response_model=MemberDetail)
def get_member(
    member_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.MEMBERS_READ)],
) -> MemberDetail:
    """The member with points, tier and wallet; personal data masked (see ``/reveal``)."""
    member = service.get_member(session, member_id, allow_deleted=True)
    return member_detail(session, member, service.personal(pii_of(request), member, reveal=False))


@router.post("/members/{member_id}/reveal", response_model=MemberDetail)
def reveal_member(
    member_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_PII)],
) -> MemberDetail:
    """The member with phone, name and ID number in full. Every call is written to the audit log."""
    member = _member(session, member_id)
    return member_detail(session, member, service.reveal(session, actor, pii_of(request), member))


@router.patch("/members/{member_id}", response_model=MemberDetail)
def update_member(
    member_id: uuid.UUID,
    body: StaffProfileUpdate,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> MemberDetail:
    pii = pii_of(request)
    member = service.update_profile(
        session,
        actor,
        pii,
        _member(session, member_id),
        source="staff",
        **body.model_dump(exclude_unset=True),
    )
    return member_detail(session, member, service.personal(pii, member, reveal=False))


@router.post("/members/{member_id}/plates", response_model=PlateRead, status_code=status.HTTP_201_CREATED)
def bind_plate(
    member_id: uuid.UUID,
    body: PlateBind,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> PlateRead:
    """Bind a plate. A plate another member holds → 409 ``plate_taken`` with a transfer request opened."""
    row = plate_bindings.bind_plate(session, actor, _member(session, member_id), body.plate)
    return PlateRead(plate=row.plate, kind=row.kind, bound_at=row.bound_at)


@router.delete("/members/{member_id}/plates/{plate}", status_code=status.HTTP_204_NO_CONTENT)
def release_plate(
    member_id: uuid.UUID,
    plate: str,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> None:
    plate_bindings.release_plate(session, actor, _member(session, member_id), plate)


@router.get("/plate-transfers", response_model=Page[TransferRead])
def list_transfers(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.PLATES_TRANSFER)],
    status_filter: Annotated[str | None, Query(alias="status")] = "pending",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[TransferRead]:
    rows = plate_bindings.list_transfers(
        session, status=status_filter or None, before=decode_time_cursor(cursor), limit=limit + 1
    )
    shown, next_cursor = time_page(rows, limit, lambda row: (row.requested_at, row.id))
    return Page(items=[TransferRead.model_validate(row) for row in shown], next_cursor=next_cursor)


@router.post("/plate-transfers/{transfer_id}/approve", response_model=TransferRead)
def approve_transfer(
    transfer_id: uuid.UUID,
    body: TransferDecision,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.PLATES_TRANSFER)],
) -> TransferRead:
    """Move the plate to the requester (after checking the vehicle licence)."""
    return TransferRead.model_validate(
        plate_bindings.approve_transfer(session, actor, transfer_id, body.note)
    )


@router.post("/plate-transfers/{transfer_id}/reject", response_model=TransferRead)
def reject_transfer(
    transfer_id: uuid.UUID,
    body: TransferDecision,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.PLATES_TRANSFER)],
) -> TransferRead:
    return TransferRead.model_validate(plate_bindings.reject_transfer(session, actor, transfer_id, body.note))


@router.post("/members/{member_id}/vehicles", response_model=VehicleRead, status_code=status.HTTP_201_CREATED)
def add_vehicle(
    member_id: uuid.UUID,
    body: VehicleWrite,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> VehicleRead:
    vehicle = vehicles.add_vehicle(session, actor, _member(session, member_id), **body.model_dump())
    return VehicleRead.model_validate(vehicle)


@router.patch("/members/{member_id}/vehicles/{vehicle_id}", response_model=VehicleRead)
def update_vehicle(
    member_id: uuid.UUID,
    vehicle_id: uuid.UUID,
    body: VehicleUpdate,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> VehicleRead:
    vehicle = vehicles.update_vehicle(
        session, actor, _member(session, member_id), vehicle_id, **body.model_dump(exclude_unset=True)
    )
    return VehicleRead.model_validate(vehicle)


@router.delete("/members/{member_id}/vehicles/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_vehicle(
    member_id: uuid.UUID,
    vehicle_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_WRITE)],
) -> None:
    vehicles.remove_vehicle(session, actor, _member(session, member_id), vehicle_id)


@router.post("/members/{member_id}/tags", response_model=TagRead)
def assign_tag(
    member_id: uuid.UUID,
    body: TagAssign,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.TAGS_MANAGE)],
) -> TagRead:
    return TagRead.model_validate(tags.assign(session, actor, _member(session, member_id), body.tag))


@router.delete("/members/{member_id}/tags/{tag}", status_code=status.HTTP_204_NO_CONTENT)
def remove_tag(
    member_id: uuid.UUID,
    tag: str,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.TAGS_MANAGE)],
) -> None:
    tags.unassign(session, actor, _member(session, member_id), tag)


@router.get("/tags", response_model=list[TagRead])
def list_tags(session: SessionDep, _: Annotated[Actor, require(Permission.MEMBERS_READ)]) -> list[TagRead]:
    return [TagRead.model_validate(tag) for tag in tags.list_tags(session)]


@router.post("/tags", response_model=TagRead, status_code=status.HTTP_201_CREATED)
def create_tag(
    body: TagCreate, session: SessionDep, actor: Annotated[Actor, require(Permission.TAGS_MANAGE)]
) -> TagRead:
    return TagRead.model_validate(tags.create_tag(session, actor, **body.model_dump()))


@router.post("/members/{member_id}/erase", response_model=MemberDetail)
def erase_member(
    member_id: uuid.UUID,
    body: EraseRequest,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_ERASE)],
) -> MemberDetail:
    """Erase the member's personal data at their request (cannot be undone; the ledger stays)."""
    member = service.get_member(session, member_id, allow_deleted=True)
    privacy.erase(session, actor, member, reason=body.reason)
    return member_detail(session, member, service.personal(pii_of(request), member, reveal=False))


@router.post("/member-imports", response_model=ImportReport, status_code=status.HTTP_201_CREATED)
def import_members(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.MEMBERS_IMPORT)],
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx with a header row")],
) -> ImportReport:
    """Import members row by row: each valid row fully or not at all; every other row reported."""
    content = file.file.read(imports.MAX_FILE_BYTES + 1)
    report = imports.import_bytes(session, actor, pii_of(request), file.filename or "upload", content)
    return report


@router.get(
    "/member-imports/{import_id}/errors.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per row not imported"}},
)
def import_error_file(
    import_id: uuid.UUID,
    session: SessionDep,
    _: Annotated[Actor, require(Permission.MEMBERS_IMPORT)],
) -> Response:
    """The import's error file, the same as ``forecourt members import`` writes next to FILE."""
    filename, content = imports.error_file(session, import_id)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _attachment(filename)},
    )


def _attachment(filename: str) -> str:
    quoted = quote(filename)
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"
