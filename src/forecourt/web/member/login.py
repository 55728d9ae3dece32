"""Member H5 sign-in by SMS code (a new phone registers, as in the member API), and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.db.session import get_session
from forecourt.members import member_auth
from forecourt.stations import service as stations
from forecourt.web.access import (
    MEMBER_ACCESS,
    CurrentWebMember,
    client_ip,
    forget_member,
    public_page,
    remember_member,
)
from forecourt.web.member.kit import DEVICE_KEY, go, in_member_words, page, pii_of
from forecourt.web.routing import web_router
from forecourt.web.security import safe_next

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
Phone = Annotated[str, Form(max_length=32)]
Next = Annotated[str, Form(max_length=200)]


def _next(target: str | None) -> str:
    """Back to the member page the driver came from (member pages only)."""
    found = safe_next(target, "/m")
    return found if found == "/m" or found.startswith("/m/") else "/m"


def _page(request: Request, step: str, phone: str, next: str, **extra: object) -> Response:
    context = {"step": step, "phone": phone, "next": _next(next), "deleted": False, **extra}
    return page(request, "member/login.html", context, fragment="member/_login.html")


@router.get("/login", dependencies=[public_page])
def login_form(request: Request, next: str | None = None, deleted: bool = False) -> Response:
    """Step 1: the phone number."""
    return _page(request, "phone", "", next or "/m", deleted=deleted)


@router.post("/login/code", dependencies=[public_page])
def send_code(request: Request, session: SessionDep, phone: Phone = "", next: Next = "/m") -> Response:
    """Text a 6-digit code (5 minutes; the member API's limits), then step 2: the code."""
    state = request.app.state
    with in_member_words():
        resend_after = member_auth.send_login_code(
            session,
            state.pii,
            state.sms_provider,
            state.sms_limits,
            phone=phone,
            ip=client_ip(request),
            brand=stations.brand_name(session),
        )
    return _page(request, "code", phone.strip(), next, resend_after=resend_after)


@router.post("/login", dependencies=[public_page])
def login(
    request: Request,
    session: SessionDep,
    phone: Phone = "",
    code: Annotated[str, Form(max_length=12)] = "",
    next: Next = "/m",
) -> Response:
    """Sign in with the code; a phone that is not a member yet registers."""
    with in_member_words():
        issued = member_auth.login_with_code(
            session, pii_of(request), request.app.state.settings, phone=phone, code=code.strip()
        )
    device = request.session.get(DEVICE_KEY)  # this browser's device id outlives sign-ins
    request.session.clear()  # nothing of whoever used this browser before (and a new CSRF token)
    if device is not None:
        request.session[DEVICE_KEY] = device
    remember_member(request, issued.access_token, issued.refresh_token)
    return go(request, _next(next))


@router.post("/logout")
def logout(request: Request, session: SessionDep, member: CurrentWebMember) -> Response:
    """End this session (its tokens revoked) and forget it in the cookie."""
    token = request.session.get(MEMBER_ACCESS)
    if isinstance(token, str):
        member_auth.logout(session, token)
    forget_member(request)
    return go(request, "/m/login")
