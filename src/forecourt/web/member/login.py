"""Member H5 sign-in by SMS code."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from forecourt.web.access import public_page
from forecourt.web.routing import web_router
from forecourt.web.templating import render

router = web_router(prefix="/m")


@router.get("/login", dependencies=[public_page])
def login_form(request: Request) -> Response:
    return render(request, "member/login.html")
