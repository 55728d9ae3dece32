"""Member H5 "me": profile (name, gender, birthday, marketing consent), plates, vehicles, and
privacy — export my data (JSON) and delete my account (a confirmation step, then erasure, signed out).
Every write is the member API's service call with the member as the actor of the audit row."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.db.session import get_session
from forecourt.errors import InvalidRequest
from forecourt.members import plate_bindings, privacy, vehicles
from forecourt.members import service as members
from forecourt.members.errors import InvalidProfile
from forecourt.members.views import member_detail
from forecourt.stations import service as stations
from forecourt.web.access import CurrentWebMember, forget_member
from forecourt.web.i18n import gettext
from forecourt.web.member.kit import go, in_member_words, member_actor, pii_of
from forecourt.web.routing import web_router
from forecourt.web.templating import render

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
Text = Annotated[str, Form(max_length=100)]


@router.get("/profile")
def my_profile(request: Request, session: SessionDep, member: CurrentWebMember, saved: str = "") -> Response:
    """Profile form, plates, vehicles, privacy and sign-out."""
    detail = member_detail(session, member, members.personal(pii_of(request), member, reveal=True))
    return render(
        request,
        "member/profile.html",
        {
            "section": "/m/profile",
            "me": detail,
            "grades": stations.list_grades(session),
            "genders": members.GENDERS,
            "saved": saved,
        },
    )


def _birthday(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidProfile(gettext("Please enter the birthday as a date."), field="birthday") from None


@router.post("/profile")
def update_profile(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    name: Annotated[str, Form(max_length=50)] = "",
    gender: Annotated[str, Form(max_length=10)] = "",
    birthday: Annotated[str, Form(max_length=10)] = "",
    marketing_consent: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    with in_member_words():
        members.update_profile(
            session,
            member_actor(member, request),
            pii_of(request),
            member,
            source="member",
            name=name.strip() or None,
            gender=gender or None,
            birthday=_birthday(birthday),
            marketing_consent=marketing_consent == "on",
        )
    return go(request, "/m/profile?saved=profile")


@router.post("/profile/plates")
def add_plate(request: Request, session: SessionDep, member: CurrentWebMember, plate: Text = "") -> Response:
    """Bind a plate (the plate rules and errors of the members service; personal data stays out of
    the URL)."""
    with in_member_words():
        plate_bindings.bind_plate(session, member_actor(member, request), member, plate)
    return go(request, "/m/profile?saved=plate#plates")


@router.post("/profile/plates/remove")
def remove_plate(
    request: Request, session: SessionDep, member: CurrentWebMember, plate: Text = ""
) -> Response:
    with in_member_words():
        plate_bindings.release_plate(session, member_actor(member, request), member, plate)
    return go(request, "/m/profile?saved=plate#plates")


@router.post("/profile/vehicles")
def add_vehicle(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    model: Text = "",
    fuel_preference: Annotated[str, Form(max_length=8)] = "",
    yearly_mileage_km: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    mileage = yearly_mileage_km.strip()
    if mileage and not mileage.isdigit():
        raise InvalidProfile(gettext("Yearly mileage is a number of kilometres."), field="yearly_mileage_km")
    with in_member_words():
        vehicles.add_vehicle(
            session,
            member_actor(member, request),
            member,
            model=model.strip(),
            fuel_preference=fuel_preference or None,
            yearly_mileage_km=int(mileage) if mileage else None,
        )
    return go(request, "/m/profile?saved=vehicle#vehicles")


@router.post("/profile/vehicles/{vehicle_id}/remove")
def remove_vehicle(
    request: Request, vehicle_id: uuid.UUID, session: SessionDep, member: CurrentWebMember
) -> Response:
    with in_member_words():
        vehicles.remove_vehicle(session, member_actor(member, request), member, vehicle_id)
    return go(request, "/m/profile?saved=vehicle#vehicles")


@router.get("/profile/export")
def export_my_data(request: Request, session: SessionDep, member: CurrentWebMember) -> Response:
    """Everything held about the member, as a JSON download (the member API's export)."""
    document: dict[str, Any] = privacy.export(session, pii_of(request), member)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-member-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/profile/delete")
def delete_confirmation(request: Request, member: CurrentWebMember) -> Response:
    """What deleting the account means, and the confirmation."""
    return render(request, "member/delete.html", {"section": "/m/profile"})


@router.post("/profile/delete")
def delete_account(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    confirm: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Erase the member's personal data for good (sessions end); signed out."""
    if confirm != "on":
        raise InvalidRequest(gettext("Tick the box to confirm that you want to delete your account."))
    privacy.erase(session, member_actor(member, request), member, reason="member request")
    forget_member(request)
    return go(request, "/m/login?deleted=true")
