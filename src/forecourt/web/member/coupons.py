"""Member H5 coupons: my coupons (usable / used / expired) and the coupon centre (领券中心) with its
claim buttons; member-day coupons open on the 8th, as the coupons service decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.coupons import issuance, member_coupons
from forecourt.db.session import get_session
from forecourt.kit.clock import utcnow
from forecourt.members.models import Member
from forecourt.web.access import CurrentWebMember
from forecourt.web.i18n import N_
from forecourt.web.member.kit import in_member_words, member_actor, page
from forecourt.web.routing import web_router

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
TABS = {"available": N_("Usable"), "used": N_("Used"), "expired": N_("Expired")}


def _context(session: Session, member: Member, tab: str, claimed: str | None = None) -> dict[str, object]:
    tab = tab if tab in TABS else "available"
    now = utcnow()
    return {
        "section": "/m/coupons",
        "tabs": TABS,
        "tab": tab,
        "coupons": member_coupons.coupons_of(session, member.id, tab, now),
        "centre": member_coupons.centre(session, member.id, now),
        "claimed": claimed,
    }


@router.get("/coupons")
def my_coupons(
    request: Request, session: SessionDep, member: CurrentWebMember, tab: str = "available"
) -> Response:
    """My coupons (卡包) by tab, and the coupon centre."""
    return page(request, "member/coupons.html", _context(session, member, tab))


@router.post("/coupons/claim")
def claim(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    template: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Claim a coupon from the centre (htmx: the coupons part of the page is swapped)."""
    with in_member_words():
        coupon = issuance.claim(session, member_actor(member, request), member.id, template, utcnow())
    title = member_coupons.read_one(session, coupon.id).title
    return page(
        request,
        "member/coupons.html",
        _context(session, member, "available", claimed=title),
        fragment="member/_coupons.html",
    )
