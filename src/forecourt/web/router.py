"""Mounts the consoles on the application: middleware, static files, error pages, page routers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from forecourt.errors import AppError, app_error_response, error_body, validation_error_response
from forecourt.web import i18n
from forecourt.web.access import LoginRequired
from forecourt.web.i18n import gettext
from forecourt.web.security import SESSION_COOKIE, SESSION_MAX_AGE, SecurityHeadersMiddleware, is_web_path
from forecourt.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"


class LanguageMiddleware:
    """Sets the request's UI language from the language cookie (or Accept-Language)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_web_path(scope["path"]):
            request = Request(scope)
            i18n.set_language(
                i18n.language_of(
                    request.cookies.get(i18n.LANGUAGE_COOKIE), request.headers.get("accept-language")
                )
            )
        await self.app(scope, receive, send)


class ConsoleSessionMiddleware(SessionMiddleware):
    """The cookie session, for console paths only: the API (and its hot POS path) never reads it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _login_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, LoginRequired):
        raise TypeError(exc)
    here = request.url.path if request.method == "GET" else request.headers.get("hx-current-url", "")
    target = exc.login_path
    if here.startswith("/"):
        target = f"{exc.login_path}?next={quote(here, safe='/')}"
    if _is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _app_error(request: Request, exc: Exception) -> Response:
    """Console pages show errors as pages (or, for htmx, as a fragment in the page's message area);
    the API keeps its JSON body."""
    if not is_web_path(request.url.path):
        if isinstance(exc, RequestValidationError):
            return await validation_error_response(request, exc)
        return await app_error_response(request, exc)
    if isinstance(exc, AppError):
        body = error_body(exc.code, exc.message, exc.details)["error"]
        body["default_message"] = type(exc).default_message
        status = exc.status
    else:
        body = error_body("validation_error", gettext("Some fields are missing or not valid."))["error"]
        status = 422
    return error_page(request, body, status)


def error_page(request: Request, body: dict[str, Any], status: int) -> Response:
    """An error as a page, or for htmx as a fragment swapped into the page's ``#messages`` area."""
    if _is_htmx(request):
        return render(
            request,
            "shared/error_fragment.html",
            {"error": body},
            status_code=status,
            headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
        )
    return render(request, "shared/error_page.html", {"error": body}, status_code=status)


def mount_web(app: FastAPI) -> None:
    """Add the consoles to ``app`` (after the API's routers and error handlers)."""
    settings = app.state.settings
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(
        ConsoleSessionMiddleware,
        secret_key=f"web-session:{settings.secret_key}",
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.env == "production",
    )
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _app_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in _routers():
        app.include_router(router)


def _routers() -> list[Any]:
    from forecourt.web import common, staff_login
    from forecourt.web.admin import routers as admin_routers
    from forecourt.web.member import routers as member_routers
    from forecourt.web.station import routers as station_routers

    return [common.router, staff_login.router, *admin_routers, *station_routers, *member_routers]
