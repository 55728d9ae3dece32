"""Who may open a console page: the API's permissions, read from the cookie session.

``staff_page(Permission.X)`` is the console twin of the API's ``require(Permission.X)``: the same
token check (``auth.service.authenticate``) and the same ``Actor.has`` on the same permission table,
so a role sees in the console exactly what it may do through the API. ``member_page`` is the twin of
the API's member access. Each has a ``policy`` string that the console route test reads.

Not signed in → ``LoginRequired`` (a redirect to the console's login page); signed in without the
permission → ``PermissionDenied`` (a 403 page).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from forecourt.auth import service as auth_service
from forecourt.auth.errors import TokenInvalid
from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.errors import PermissionDenied
from forecourt.kit.actor import Actor
from forecourt.members import member_auth
from forecourt.members.errors import MemberTokenInvalid
from forecourt.members.models import Member

STAFF_TOKEN = "staff_token"  # noqa: S105 - the session key's name, not a secret
MEMBER_ACCESS = "member_access"
MEMBER_REFRESH = "member_refresh"


class LoginRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to ``login_path``."""

    def __init__(self, login_path: str) -> None:
        super().__init__(login_path)
        self.login_path = login_path


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class StaffPageAccess:
    """A signed-in staff member holding ``permission`` (any staff member when None)."""

    def __init__(self, permission: Permission | None, login_path: str) -> None:
        self.permission = permission
        self.login_path = login_path
        self.policy = f"web-staff:{permission}" if permission else "web-staff:*"

    def __call__(self, request: Request, session: Annotated[Session, Depends(get_session)]) -> Actor:
        token = request.session.get(STAFF_TOKEN)
        if not isinstance(token, str):
            raise LoginRequired(self.login_path)
        try:
            actor = auth_service.authenticate(session, token, ip=client_ip(request))
        except TokenInvalid:
            request.session.pop(STAFF_TOKEN, None)
            raise LoginRequired(self.login_path) from None
        request.state.actor = actor
        if self.permission is not None and not actor.has(self.permission):
            raise PermissionDenied(required=str(self.permission), role=actor.role)
        return actor


def staff_page(permission: Permission | None, *, console: str = "admin") -> Any:
    """``actor: Annotated[Actor, staff_page(Permission.X)]`` on an admin page;
    ``console="station"`` sends a signed-out attendant to the station login instead."""
    return Depends(StaffPageAccess(permission, f"/{console}/login"))


class MemberPageAccess:
    """A signed-in member (member H5). An expired access token is renewed with the refresh token in
    its own short write transaction, as the member app would."""

    policy = "web-member"

    def __call__(self, request: Request, session: Annotated[Session, Depends(get_session)]) -> Member:
        access = request.session.get(MEMBER_ACCESS)
        if not isinstance(access, str):
            raise LoginRequired("/m/login")
        try:
            member = member_auth.authenticate(session, access)
        except MemberTokenInvalid:
            member = self._renewed(request, session)
        request.state.web_member = member
        return member

    @staticmethod
    def _renewed(request: Request, session: Session) -> Member:
        refresh_token = request.session.get(MEMBER_REFRESH)
        if not isinstance(refresh_token, str):
            forget_member(request)
            raise LoginRequired("/m/login")
        database = request.app.state.database
        renewal = database.session()
        try:
            renewed = member_auth.refresh(renewal, request.app.state.settings, refresh_token)
            renewal.commit()
        except MemberTokenInvalid:
            renewal.commit()  # a reused refresh token ends every session of the member (keeps_changes)
            forget_member(request)
            raise LoginRequired("/m/login") from None
        finally:
            renewal.close()
        remember_member(request, renewed.access_token, renewed.refresh_token)
        return member_auth.authenticate(session, renewed.access_token)


def remember_member(request: Request, access_token: str, refresh_token: str) -> None:
    request.session[MEMBER_ACCESS] = access_token
    request.session[MEMBER_REFRESH] = refresh_token


def forget_member(request: Request) -> None:
    request.session.pop(MEMBER_ACCESS, None)
    request.session.pop(MEMBER_REFRESH, None)


class PublicPage:
    """Open pages: login forms, the language switch."""

    policy = "web-public"

    async def __call__(self) -> None:
        return None


public_page: Any = Depends(PublicPage())
member_page: Any = Depends(MemberPageAccess())
CurrentWebMember = Annotated[Member, member_page]
