"""What the member pages share: the member as the actor of their own writes, the PII codec, the
browser's device id, htmx-aware redirects, and service errors told in the driver's language.

Service errors keep their class, status and ``keeps_changes``: ``in_member_words`` only drops the
specific (English) message, so the frame's error area shows the class's translated message alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from forecourt.errors import AppError
from forecourt.members.dependencies import member_actor, pii_of
from forecourt.web.templating import render

__all__ = ["device_id", "go", "in_member_words", "member_actor", "page", "pii_of"]

DEVICE_KEY = "member_device"


@contextmanager
def in_member_words() -> Iterator[None]:
    """Run a service call; an ``AppError`` it raises goes on showing only its class's message (the
    console's error area shows that translated, from ``errors.po``): the specific English message
    is for API clients and staff, not for a driver's phone."""
    try:
        yield
    except AppError as exc:
        exc.message = type(exc).default_message
        raise


def device_id(request: Request) -> str:
    """This browser as a member-app device for the risk rules (kept in the cookie session, so it
    outlives a sign-out: a browser verified once stays known)."""
    found = request.session.get(DEVICE_KEY)
    if isinstance(found, str):
        return found
    created = "h5:" + secrets.token_hex(12)
    request.session[DEVICE_KEY] = created
    return created


def go(request: Request, path: str) -> Response:
    """After a form post: a redirect (``HX-Redirect`` for htmx, which would otherwise swap the page)."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)


def page(request: Request, name: str, context: dict[str, Any], *, fragment: str | None = None) -> Response:
    """The whole page, or for an htmx request only ``fragment`` (the part the request swaps)."""
    htmx = request.headers.get("hx-request") == "true"
    return render(request, fragment if htmx and fragment else name, context)
