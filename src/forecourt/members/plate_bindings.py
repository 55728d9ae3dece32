"""Binding plates to members: one active owner per plate, and transfers that staff approve.

A plate held by another member cannot simply be taken: the request becomes a transfer that staff
approve after seeing the vehicle licence (行驶证). Audit rows carry masked plates only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.db.outbox import publish
from forecourt.db.unique import is_unique_violation
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.members import repository
from forecourt.members.errors import (
    PlateNotBound,
    PlateTaken,
    PlateTransferClosed,
    PlateTransferNotFound,
    PlateTransferRequested,
    TooManyPlates,
)
from forecourt.members.models import Member, MemberPlate, PlateTransfer
from forecourt.members.plates import Plate, mask_plate, parse_plate

MAX_PLATES_PER_MEMBER = 5


def check_plate_free(session: Session, number: str) -> None:
    if repository.active_plate(session, number) is not None:
        raise PlateTaken(plate=mask_plate(number))


def bind_new(session: Session, member: Member, plate: Plate, now: datetime) -> MemberPlate:
    """Insert an active binding; PlateTaken if another transaction bound the plate first."""
    row = MemberPlate(
        id=new_id(), member_id=member.id, plate=plate.number, kind=plate.kind.value, bound_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise PlateTaken(plate=mask_plate(plate.number)) from exc
        raise
    return row


def bind_plate(session: Session, actor: Actor, member: Member, raw_plate: str) -> MemberPlate:
    """Bind a plate. Already the member's: returned as is. Another member's: a transfer request is
    opened and PlateTransferRequested (``plate_taken``) raised."""
    from forecourt.members.service import update_completion

    plate = parse_plate(raw_plate)
    holder = repository.active_plate(session, plate.number)
    if holder is not None and holder.member_id == member.id:
        return holder
    if holder is not None:
        transfer = _open_transfer(session, actor, plate, holder.member_id, member.id)
        raise PlateTransferRequested(plate=mask_plate(plate.number), transfer_id=str(transfer.id))
    if repository.count_active_plates(session, member.id) >= MAX_PLATES_PER_MEMBER:
        raise TooManyPlates(limit=MAX_PLATES_PER_MEMBER)
    now = utcnow()
    first = repository.count_active_plates(session, member.id) == 0 and not repository.plates_of(
        session, member.id, include_released=True
    )
    row = bind_new(session, member, plate, now)
    audit.record(
        session, actor, "member.plate_bind", "member", member.id, after={"plate": mask_plate(plate.number)}
    )
    publish(
        session, "member.plate_bound", {"member_id": str(member.id), "first": first, "at": now.isoformat()}
    )
    update_completion(session, member, now)
    return row


def release_plate(session: Session, actor: Actor, member: Member, raw_plate: str) -> MemberPlate:
    plate = parse_plate(raw_plate)
    holder = repository.active_plate(session, plate.number)
    if holder is None or holder.member_id != member.id:
        raise PlateNotBound(plate=mask_plate(plate.number))
    holder.released_at = utcnow()
    audit.record(
        session,
        actor,
        "member.plate_release",
        "member",
        member.id,
        before={"plate": mask_plate(plate.number)},
    )
    return holder


def _open_transfer(
    session: Session, actor: Actor, plate: Plate, from_member_id: uuid.UUID, to_member_id: uuid.UUID
) -> PlateTransfer:
    for pending in repository.pending_transfers_of_plate(session, plate.number):
        if pending.to_member_id == to_member_id:
            return pending
    transfer = PlateTransfer(
        id=new_id(),
        plate=plate.number,
        kind=plate.kind.value,
        from_member_id=from_member_id,
        to_member_id=to_member_id,
        status="pending",
        requested_at=utcnow(),
        requested_by=actor.label,
    )
    session.add(transfer)
    session.flush()
    audit.record(
        session,
        actor,
        "plate_transfer.request",
        "plate_transfer",
        transfer.id,
        after={"plate": mask_plate(plate.number), "from": str(from_member_id), "to": str(to_member_id)},
    )
    return transfer


def get_transfer(session: Session, transfer_id: uuid.UUID) -> PlateTransfer:
    transfer = session.get(PlateTransfer, transfer_id)
    if transfer is None:
        raise PlateTransferNotFound(transfer_id=str(transfer_id))
    return transfer


def _lock_pending(session: Session, transfer_id: uuid.UUID) -> PlateTransfer:
    transfer = session.scalar(select(PlateTransfer).where(PlateTransfer.id == transfer_id).with_for_update())
    if transfer is None:
        raise PlateTransferNotFound(transfer_id=str(transfer_id))
    if transfer.status != "pending":
        raise PlateTransferClosed(status=transfer.status)
    return transfer


def approve_transfer(session: Session, actor: Actor, transfer_id: uuid.UUID, note: str = "") -> PlateTransfer:
    """Move the plate: the old binding is released and the requester's begins, in one transaction."""
    transfer = _lock_pending(session, transfer_id)
    now = utcnow()
    holder = repository.active_plate(session, transfer.plate)
    if holder is not None:
        holder.released_at = now
        session.flush()
    receiver = repository.get(session, transfer.to_member_id)
    if receiver is None or receiver.status != "active":
        raise PlateTransferClosed(status="requester_gone")
    plate = parse_plate(transfer.plate)
    first = not repository.plates_of(session, receiver.id, include_released=True)
    bind_new(session, receiver, plate, now)
    _decide(session, actor, transfer, "approved", note, now)
    publish(
        session, "member.plate_bound", {"member_id": str(receiver.id), "first": first, "at": now.isoformat()}
    )
    for other in repository.pending_transfers_of_plate(session, transfer.plate):
        if other.id != transfer.id:
            _decide(session, actor, other, "rejected", "plate transferred to another member", now)
    publish(
        session,
        "member.plate_transferred",
        {"from_member_id": str(transfer.from_member_id), "to_member_id": str(transfer.to_member_id)},
    )
    return transfer


def reject_transfer(session: Session, actor: Actor, transfer_id: uuid.UUID, note: str = "") -> PlateTransfer:
    transfer = _lock_pending(session, transfer_id)
    _decide(session, actor, transfer, "rejected", note, utcnow())
    return transfer


def _decide(
    session: Session, actor: Actor, transfer: PlateTransfer, status: str, note: str, now: datetime
) -> None:
    transfer.status = status
    transfer.decided_at = now
    transfer.decided_by = actor.label
    transfer.note = note[:200]
    audit.record(
        session,
        actor,
        f"plate_transfer.{'approve' if status == 'approved' else 'reject'}",
        "plate_transfer",
        transfer.id,
        before={"status": "pending"},
        after={"status": status, "plate": mask_plate(transfer.plate), "note": transfer.note},
    )


def list_transfers(
    session: Session, *, status: str | None, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[PlateTransfer]:
    return repository.transfers(session, status=status, before=before, limit=limit)
