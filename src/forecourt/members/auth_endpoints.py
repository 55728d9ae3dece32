"""Member login by SMS code, token refresh and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette import status

from forecourt.auth.dependencies import PUBLIC, bearer_token, client_ip
from forecourt.db.session import api_router, get_session
from forecourt.members import member_auth
from forecourt.members.dependencies import member_access
from forecourt.members.member_auth import MemberSession
from forecourt.members.schemas import MemberTokens, RefreshRequest, SmsCodeRequest, SmsCodeSent, SmsLogin
from forecourt.stations import service as stations

router = api_router(prefix="/api/v1/member-auth", tags=["member login"])

SessionDep = Annotated[Session, Depends(get_session)]


def _tokens(issued: MemberSession) -> MemberTokens:
    return MemberTokens(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=issued.access_expires_at,
        refresh_expires_at=issued.refresh_expires_at,
        member_id=issued.member.id,
        registered=issued.registered,
    )


@router.post(
    "/sms-codes", response_model=SmsCodeSent, status_code=status.HTTP_202_ACCEPTED, dependencies=[PUBLIC]
)
def send_code(body: SmsCodeRequest, request: Request, session: SessionDep) -> SmsCodeSent:
    """Text a 6-digit login code (5 minutes, 5 tries; a new one at most every 60 s)."""
    state = request.app.state
    resend_after = member_auth.send_login_code(
        session,
        state.pii,
        state.sms_provider,
        state.sms_limits,
        phone=body.phone,
        ip=client_ip(request),
        brand=stations.brand_name(session),
    )
    return SmsCodeSent(resend_after=resend_after)


@router.post("/login", response_model=MemberTokens, dependencies=[PUBLIC])
def login(body: SmsLogin, request: Request, session: SessionDep) -> MemberTokens:
    """Sign in with the code; a phone that is not a member yet registers (``registered: true``)."""
    issued = member_auth.login_with_code(
        session,
        request.app.state.pii,
        request.app.state.settings,
        phone=body.phone,
        code=body.code,
        referral_code=body.referral_code,
        marketing_consent=body.marketing_consent,
    )
    return _tokens(issued)


@router.post("/refresh", response_model=MemberTokens, dependencies=[PUBLIC])
def refresh(body: RefreshRequest, request: Request, session: SessionDep) -> MemberTokens:
    """New access and refresh tokens for a refresh token (which is then spent)."""
    return _tokens(member_auth.refresh(session, request.app.state.settings, body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[member_access])
def logout(request: Request, session: SessionDep) -> None:
    """End the session this request was made with."""
    member_auth.logout(session, bearer_token(request))
