"""A member's vehicles: what they drive, which helps marketing (fuel preference, yearly mileage)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from forecourt.audit import service as audit
from forecourt.kit.actor import Actor
from forecourt.kit.clock import utcnow
from forecourt.kit.ids import new_id
from forecourt.members import repository
from forecourt.members.errors import InvalidProfile, VehicleNotFound
from forecourt.members.models import Member, Vehicle
from forecourt.members.plates import mask_plate, parse_plate
from forecourt.stations import service as stations

UNCHANGED: Any = object()


def _check(
    session: Session, plate: str | None, displacement_cc: int | None, fuel: str | None, mileage: int | None
) -> tuple[str | None, str | None]:
    if displacement_cc is not None and not 0 < displacement_cc <= 20000:
        raise InvalidProfile("Displacement is in cubic centimetres, 1 to 20000.", field="displacement_cc")
    if mileage is not None and not 0 <= mileage <= 500000:
        raise InvalidProfile("Yearly mileage is 0 to 500000 km.", field="yearly_mileage_km")
    plate_number = parse_plate(plate).number if plate else None
    grade = stations.get_grade(session, fuel).code if fuel else None
    return plate_number, grade


def add_vehicle(
    session: Session,
    actor: Actor,
    member: Member,
    *,
    model: str = "",
    plate: str | None = None,
    displacement_cc: int | None = None,
    fuel_preference: str | None = None,
    yearly_mileage_km: int | None = None,
) -> Vehicle:
    from forecourt.members.service import update_completion

    plate_number, grade = _check(session, plate, displacement_cc, fuel_preference, yearly_mileage_km)
    now = utcnow()
    vehicle = Vehicle(
        id=new_id(),
        member_id=member.id,
        plate=plate_number,
        model=" ".join(model.split())[:100],
        displacement_cc=displacement_cc,
        fuel_preference=grade,
        yearly_mileage_km=yearly_mileage_km,
        created_at=now,
        updated_at=now,
    )
    session.add(vehicle)
    session.flush()
    audit.record(session, actor, "member.vehicle_add", "member", member.id, after=_snapshot(vehicle))
    update_completion(session, member, now)
    return vehicle


def _snapshot(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "vehicle_id": str(vehicle.id),
        "plate": mask_plate(vehicle.plate) if vehicle.plate else None,
        "model": vehicle.model,
        "displacement_cc": vehicle.displacement_cc,
        "fuel_preference": vehicle.fuel_preference,
        "yearly_mileage_km": vehicle.yearly_mileage_km,
    }


def get_vehicle(session: Session, member: Member, vehicle_id: uuid.UUID) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.member_id != member.id:
        raise VehicleNotFound(vehicle_id=str(vehicle_id))
    return vehicle


def update_vehicle(
    session: Session,
    actor: Actor,
    member: Member,
    vehicle_id: uuid.UUID,
    *,
    model: Any = UNCHANGED,
    plate: Any = UNCHANGED,
    displacement_cc: Any = UNCHANGED,
    fuel_preference: Any = UNCHANGED,
    yearly_mileage_km: Any = UNCHANGED,
) -> Vehicle:
    vehicle = get_vehicle(session, member, vehicle_id)
    before = _snapshot(vehicle)
    merged: dict[str, Any] = {
        "plate": vehicle.plate if plate is UNCHANGED else plate,
        "displacement_cc": vehicle.displacement_cc if displacement_cc is UNCHANGED else displacement_cc,
        "fuel": vehicle.fuel_preference if fuel_preference is UNCHANGED else fuel_preference,
        "mileage": vehicle.yearly_mileage_km if yearly_mileage_km is UNCHANGED else yearly_mileage_km,
    }
    plate_number, grade = _check(
        session, merged["plate"], merged["displacement_cc"], merged["fuel"], merged["mileage"]
    )
    if model is not UNCHANGED:
        vehicle.model = " ".join((model or "").split())[:100]
    vehicle.plate = plate_number
    vehicle.displacement_cc = merged["displacement_cc"]
    vehicle.fuel_preference = grade
    vehicle.yearly_mileage_km = merged["mileage"]
    vehicle.updated_at = utcnow()
    audit.record(
        session, actor, "member.vehicle_update", "member", member.id, before=before, after=_snapshot(vehicle)
    )
    return vehicle


def remove_vehicle(session: Session, actor: Actor, member: Member, vehicle_id: uuid.UUID) -> None:
    vehicle = get_vehicle(session, member, vehicle_id)
    audit.record(session, actor, "member.vehicle_remove", "member", member.id, before=_snapshot(vehicle))
    session.delete(vehicle)


def vehicles_of(session: Session, member: Member) -> Sequence[Vehicle]:
    return repository.vehicles_of(session, member.id)
