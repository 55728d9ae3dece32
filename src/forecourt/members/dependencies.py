"""The member access dependency: the caller is a signed-in member, acting on themselves only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.members import member_auth
from forecourt.members.errors import MemberTokenInvalid
from forecourt.members.models import Member
from forecourt.members.pii import Pii

member_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MemberBearer",
    description="A member token from POST /api/v1/member-auth/login",
)


class MemberAccess:
    policy = "member"

    def __call__(
        self,
        request: Request,
        session: Annotated[Session, Depends(get_session)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(member_bearer)],
    ) -> Member:
        if credentials is None or not credentials.credentials:
            raise MemberTokenInvalid("Sign in first: send Authorization: Bearer <member access token>.")
        member = member_auth.authenticate(session, credentials.credentials)
        request.state.member_id = member.id
        return member


member_access: Any = Depends(MemberAccess())
CurrentMember = Annotated[Member, member_access]


def member_actor(member: Member, request: Request) -> Actor:
    """The member as the subject of audit rows: their pseudonymous id, never their name."""
    return Actor(
        kind="member",
        id=str(member.id),
        label=f"member:{member.id}",
        ip=request.client.host if request.client else None,
    )


def pii_of(request: Request) -> Pii:
    """The application's personal-data codec."""
    pii: Pii = request.app.state.pii
    return pii
