"""Who may open a console page: the API's permissions, read from the cookie session.

``staff_page(Permission.X)`` is the console twin of the API's ``require(Permission.X)``: the same
token check (``auth.service.authenticate``) and the same ``Actor.has`` on the same permission table,
so a role sees in the console exactly what it may do through the API. ``member_page`` is the twin of
the API's member access. Each has a ``policy`` string that the console route test reads.

Not signed in → ``LoginRequired`` (a redirect to the console's login page); signed in without the
permission → ``PermissionDenied`` (a 403 page).
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from forecourt.auth import service as auth_service
from forecourt.auth.errors import TokenInvalid
from forecourt.auth.permissions import Permission
from forecourt.config import Settings
from forecourt.db.session import Database, get_session
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
        # The request's own transaction has only read the expired token: end it, so that on SQLite
        # it neither holds the write lock the renewal needs nor reads from a snapshot without the
        # renewed token.
        session.rollback()
        try:
            access, refresh = _renewals.renew(
                request.app.state.database, request.app.state.settings, refresh_token
            )
        except MemberTokenInvalid:
            forget_member(request)
            raise LoginRequired("/m/login") from None
        remember_member(request, access, refresh)
        return member_auth.authenticate(session, access)


class _Renewals:
    """Member token renewals of this process. A browser often sends several requests with the same
    expired cookie at once (the QR code's poll, a tap, a second tab): the first renews, the others
    get the same renewed tokens for a short while instead of presenting a rotated refresh token,
    which the member service takes for theft and answers by ending every session of the member."""

    SHARED_SECONDS = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[str, tuple[float, str, str]] = {}

    def renew(self, database: Database, settings: Settings, refresh_token: str) -> tuple[str, str]:
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self._lock:
            now = time.monotonic()
            self._recent = {k: v for k, v in self._recent.items() if now - v[0] < self.SHARED_SECONDS}
            if key in self._recent:
                _, access, refresh = self._recent[key]
                return access, refresh
            renewal = database.session()
            try:
                renewed = member_auth.refresh(renewal, settings, refresh_token)
                renewal.commit()
            except MemberTokenInvalid:
                renewal.commit()  # a reused refresh token ends every session of the member (keeps_changes)
                raise
            finally:
                renewal.close()
            self._recent[key] = (now, renewed.access_token, renewed.refresh_token)
            return renewed.access_token, renewed.refresh_token


_renewals = _Renewals()


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
