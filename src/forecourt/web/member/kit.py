"""What the member pages share: the member as the actor of their own writes, the PII codec, the
browser's device id, htmx-aware redirects, and service errors told in the driver's language.

Service errors keep their class, status and ``keeps_changes``: ``in_member_words`` only replaces the
message (English, for API clients) by its translation before the frame's error handler shows it.
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
from forecourt.web.i18n import N_, gettext
from forecourt.web.templating import render

__all__ = ["device_id", "go", "in_member_words", "member_actor", "page", "pii_of"]

DEVICE_KEY = "member_device"

ERROR_TEXTS: dict[str, str] = {
    "invalid_phone": N_("That is not a valid mainland China mobile number."),
    "sms_cooldown": N_("A code was sent less than a minute ago. Please wait a moment before asking again."),
    "sms_rate_limited": N_("Too many codes requested. Please try again later."),
    "sms_code_invalid": N_("The code is wrong or has expired."),
    "sms_code_locked": N_("Too many wrong codes. Please ask for a new code."),
    "member_deleted": N_("This account was deleted."),
    "invalid_plate": N_("That is not a valid Chinese licence plate."),
    "plate_taken": N_(
        "Another member holds this plate. We have asked our service team to check the transfer."
    ),
    "plate_not_bound": N_("You have no such plate."),
    "too_many_plates": N_("You already have the most plates allowed."),
    "vehicle_not_found": N_("You have no such vehicle."),
    "invalid_profile": N_("Please check the form: a value is not valid."),
    "coupon_out_of_stock": N_("Sorry, these coupons are all gone."),
    "coupon_limit_reached": N_("You already hold as many of these coupons as one member may."),
    "coupon_not_claimable": N_("This coupon cannot be claimed now."),
    "coupon_template_not_found": N_("No such coupon."),
    "invalid_payment_amount": N_("Please choose a top-up amount."),
    "payment_provider_unavailable": N_("Online top-up is not available right now."),
    "payment_not_payable": N_("This payment is no longer waiting to be paid."),
    "payment_intent_not_found": N_("No such payment."),
    "risk_rejected": N_("For your safety this payment was refused. Please ask at a station."),
    "step_up_code_wrong": N_("The code is wrong or has expired."),
    "step_up_code_invalid": N_("The code is wrong or has expired."),
    "step_up_code_locked": N_("Too many wrong codes. Please ask for a new code."),
    "validation_error": N_("Please check the form: a field is missing or not valid."),
}


@contextmanager
def in_member_words() -> Iterator[None]:
    """Run a service call; an ``AppError`` it raises goes on with a translated message."""
    try:
        yield
    except AppError as exc:
        text = ERROR_TEXTS.get(exc.code)
        if text is not None:
            exc.message = gettext(text)
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
