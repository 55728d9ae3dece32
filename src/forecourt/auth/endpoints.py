"""Login, logout and staff accounts over HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth import service
from forecourt.auth.dependencies import PUBLIC, any_staff, bearer_token, client_ip, require
from forecourt.auth.models import StaffUser
from forecourt.auth.permissions import Permission
from forecourt.auth.schemas import (
    LoginRequest,
    MeRead,
    RevokedTokens,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    TokenResponse,
)
from forecourt.db.session import api_router, get_session
from forecourt.kit.actor import Actor
from forecourt.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1", tags=["auth"])

SessionDep = Annotated[Session, Depends(get_session)]


def _read(session: Session, user: StaffUser) -> StaffRead:
    station = stations.get_station_by_id(session, user.station_id).code if user.station_id else None
    return StaffRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,  # type: ignore[arg-type]
        station=station,
        partner_code=user.partner_code,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.post("/auth/login", response_model=TokenResponse, dependencies=[PUBLIC])
def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Exchange a username and password for a bearer token."""
    issued = service.login(
        session,
        request.app.state.login_guard,
        request.app.state.settings,
        username=body.username,
        password=body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return TokenResponse(access_token=issued.access_token, expires_at=issued.expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[any_staff])
def logout(request: Request, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    service.logout(session, bearer_token(request))


@router.get("/auth/me", response_model=MeRead)
def me(session: SessionDep, actor: Annotated[Actor, any_staff]) -> MeRead:
    user = service.get_user(session, uuid.UUID(str(actor.id)))
    return MeRead(**_read(session, user).model_dump(), permissions=sorted(actor.permissions))


@router.get("/staff", response_model=Page[StaffRead])
def list_staff(
    session: SessionDep,
    _: Annotated[Actor, require(Permission.STAFF_MANAGE)],
    role: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[StaffRead]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    users = service.list_users(session, role=role, after=after, limit=limit)
    next_cursor = encode_cursor(users[-1].username) if len(users) == limit else None
    return Page[StaffRead](items=[_read(session, user) for user in users], next_cursor=next_cursor)


@router.post("/staff", response_model=StaffRead, status_code=status.HTTP_201_CREATED)
def create_staff(
    body: StaffCreate, session: SessionDep, actor: Annotated[Actor, require(Permission.STAFF_MANAGE)]
) -> StaffRead:
    station_id = stations.get_station(session, body.station).id if body.station else None
    user = service.create_user(
        session,
        actor,
        username=body.username,
        password=body.password,
        role=body.role,
        station_id=station_id,
        display_name=body.display_name,
        partner_code=body.partner_code,
    )
    return _read(session, user)


@router.get("/staff/{staff_id}", response_model=StaffRead)
def get_staff(
    staff_id: uuid.UUID, session: SessionDep, _: Annotated[Actor, require(Permission.STAFF_MANAGE)]
) -> StaffRead:
    return _read(session, service.get_user(session, staff_id))


@router.patch("/staff/{staff_id}", response_model=StaffRead)
def update_staff(
    staff_id: uuid.UUID,
    body: StaffUpdate,
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.STAFF_MANAGE)],
) -> StaffRead:
    """Change role, station, password or active flag; any change of access revokes live tokens."""
    changes = body.model_dump(exclude_unset=True)
    station_change: dict[str, uuid.UUID | None] = {}
    if "station" in changes:
        station_change["station_id"] = (
            stations.get_station(session, changes["station"]).id if changes["station"] else None
        )
    user = service.update_user(
        session,
        actor,
        staff_id,
        role=body.role,
        is_active=body.is_active,
        password=body.password,
        display_name=body.display_name,
        **station_change,
    )
    return _read(session, user)


@router.post("/staff/{staff_id}/revoke-tokens", response_model=RevokedTokens)
def revoke_staff_tokens(
    staff_id: uuid.UUID, session: SessionDep, actor: Annotated[Actor, require(Permission.STAFF_MANAGE)]
) -> RevokedTokens:
    return RevokedTokens(revoked=service.revoke_tokens(session, actor, staff_id))
