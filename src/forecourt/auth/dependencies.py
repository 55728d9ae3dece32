"""How routes declare who may call them.

Every route carries exactly one access dependency: ``require(permission)`` for staff,
``PUBLIC`` for the few open routes, ``any_staff`` for a signed-in staff member of any role, or a
device / member dependency from those contexts. Each has a ``policy`` string, which the route
permission test reads to check every route against every role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from forecourt.auth import service
from forecourt.auth.errors import TokenMissing
from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.errors import PermissionDenied
from forecourt.kit.actor import Actor


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


bearer_scheme = HTTPBearer(auto_error=False, description="A staff token from POST /api/v1/auth/login")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    return token.strip()


class StaffAccess:
    """A signed-in staff member holding ``permission`` (any staff member when it is None)."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission
        self.policy = f"staff:{permission}" if permission else "staff:*"

    def __call__(
        self,
        request: Request,
        session: Annotated[Session, Depends(get_session)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Actor:
        if credentials is None or not credentials.credentials:
            raise TokenMissing()
        actor = service.authenticate(session, credentials.credentials, ip=client_ip(request))
        if self.permission is not None and not actor.has(self.permission):
            raise PermissionDenied(required=str(self.permission), role=actor.role)
        request.state.actor = actor
        return actor


class PublicAccess:
    policy = "public"

    async def __call__(self) -> None:
        return None


PUBLIC = Depends(PublicAccess())


def require(permission: Permission) -> Any:
    """``actor: Annotated[Actor, require(Permission.X)]``."""
    return Depends(StaffAccess(permission))


any_staff: Any = Depends(StaffAccess(None))
