"""Cookie sessions, CSRF protection and the security headers of the consoles.

- The session is a signed cookie (Starlette's ``SessionMiddleware``: HttpOnly, SameSite=Lax, Secure in
  production). It holds opaque tokens only (the staff or member token the API would use as a bearer
  token) and the CSRF secret; never personal data.
- Every state-changing request to a console (POST, PUT, PATCH, DELETE) must carry the session's CSRF
  token, as the ``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx sends it, see
  ``static/app.js``); otherwise ``403 csrf_failed`` and nothing runs.
- Console responses carry a strict Content-Security-Policy: scripts and styles from our own origin only
  (no inline script or style), images from our origin or ``data:`` (QR codes), no framing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forecourt.errors import AppError

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "forecourt_session"
SESSION_MAX_AGE = 12 * 3600
WEB_PREFIXES = ("/admin", "/station", "/m", "/lang", "/static")
"""Paths that belong to the consoles (the API is under /api and never reads the cookie)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(AppError):
    status = 403
    code = "csrf_failed"
    default_message = "The form is out of date or did not come from this site; reload the page and try again."


def is_web_path(path: str) -> bool:
    return path == "/" or any(path == prefix or path.startswith(prefix + "/") for prefix in WEB_PREFIXES)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """A console route's dependency: unsafe methods need the session's token (form field or header)."""
    if request.method in _SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfFailed()


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a form or query: a path on this site, or ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class SecurityHeadersMiddleware:
    """Adds the CSP and friends to console responses (pure ASGI: no extra task per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
