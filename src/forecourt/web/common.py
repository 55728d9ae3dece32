"""Pages every console shares: the front door and the language switch."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from forecourt.web import i18n
from forecourt.web.access import public_page
from forecourt.web.routing import web_router
from forecourt.web.security import safe_next
from forecourt.web.templating import render

router = web_router()


@router.get("/", dependencies=[public_page])
def front_door(request: Request) -> Response:
    """Links to the three consoles."""
    return render(request, "shared/front_door.html")


@router.get("/lang/{language}", dependencies=[public_page])
def switch_language(language: str, next: str | None = None) -> Response:
    """Remember the chosen UI language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response
