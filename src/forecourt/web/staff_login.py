"""Staff sign-in and sign-out for the admin and station consoles.

Signing in runs the API's login (``auth.service.login``: the same password check, failure limits and
token) and keeps the token in the cookie session; signing out revokes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from forecourt.auth import service as auth_service
from forecourt.auth.errors import AccountDisabled, InvalidCredentials, TooManyLoginAttempts
from forecourt.db.session import get_session
from forecourt.web.access import STAFF_TOKEN, client_ip, public_page
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.security import safe_next
from forecourt.web.templating import render

router = web_router()

CONSOLES = {"admin": N_("Head office console"), "station": N_("Station console")}
_FAILURES = {
    InvalidCredentials: N_("Wrong username or password."),
    AccountDisabled: N_("This account is disabled."),
    TooManyLoginAttempts: N_("Too many failed attempts; wait a few minutes and try again."),
}


def _login_page(request: Request, console: str, next_path: str, problem: str | None = None) -> Response:
    return render(
        request,
        "shared/staff_login.html",
        {
            "console": console,
            "console_title": gettext(CONSOLES[console]),
            "next": next_path,
            "problem": problem,
        },
        status_code=401 if problem else 200,
    )


def _add_console(console: str) -> None:
    """The sign-in form, sign-in and sign-out routes of one staff console."""

    @router.get(f"/{console}/login", dependencies=[public_page])
    def login_form(request: Request, next: str | None = None) -> Response:
        return _login_page(request, console, safe_next(next, f"/{console}"))

    @router.post(f"/{console}/login", dependencies=[public_page])
    def login(
        request: Request,
        session: Annotated[Session, Depends(get_session)],
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        target = safe_next(next, f"/{console}")
        try:
            issued = auth_service.login(
                session,
                request.app.state.login_guard,
                request.app.state.settings,
                username=username,
                password=password,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
        except (InvalidCredentials, AccountDisabled, TooManyLoginAttempts) as exc:
            return _login_page(request, console, target, gettext(_FAILURES[type(exc)]))
        request.session.clear()  # nothing of whoever used this browser before (and a new CSRF token)
        request.session[STAFF_TOKEN] = issued.access_token
        return RedirectResponse(target, status_code=303)

    @router.post(f"/{console}/logout", dependencies=[public_page])
    def logout(request: Request, session: Annotated[Session, Depends(get_session)]) -> Response:
        token = request.session.get(STAFF_TOKEN)
        request.session.clear()
        if isinstance(token, str):
            auth_service.logout(session, token)
        return RedirectResponse(f"/{console}/login", status_code=303)


for _console in CONSOLES:
    _add_console(_console)
