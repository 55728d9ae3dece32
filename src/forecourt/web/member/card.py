"""Member H5 home: the card with the rotating member code (QR), points, what expires soon, tier
progress with the nudge to the next tier (or to keep this one)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.db.session import get_session
from forecourt.kit.clock import utcnow
from forecourt.ledger import points
from forecourt.members import service as members
from forecourt.members.member_code import current_code, qr_svg
from forecourt.members.models import Member
from forecourt.tiers import service as tiers
from forecourt.web.access import CurrentWebMember
from forecourt.web.i18n import gettext
from forecourt.web.member.kit import pii_of
from forecourt.web.routing import web_router
from forecourt.web.templating import points as points_text
from forecourt.web.templating import render, yuan

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
EXPIRING_WITHIN = timedelta(days=30)
CODE_REFRESH_SECONDS = 30


@dataclass(frozen=True)
class TierView:
    name: str
    value: int
    goal: int
    """The next tier's threshold (the progress bar's end); the current value at the top tier."""
    next_name: str | None
    upgrade: str | None
    keep: str | None


def _amount(metric: str, value: int) -> str:
    """An amount of the tier program's metric as the driver reads it."""
    if metric == "money_paid_fen":
        return yuan(value)
    if metric == "liters_centi":
        return gettext("%(litres)s L") % {"litres": f"{value / 100:,.2f}"}
    if metric == "visits":
        return gettext("%(visits)s visits") % {"visits": value}
    return gettext("%(points)s points") % {"points": points_text(value)}


def _upgrade(metric: str, amount: str, tier: str) -> str:
    if metric == "money_paid_fen":
        return gettext("Spend %(amount)s more to reach %(tier)s") % {"amount": amount, "tier": tier}
    if metric == "liters_centi":
        return gettext("Fill up %(amount)s more to reach %(tier)s") % {"amount": amount, "tier": tier}
    if metric == "visits":
        return gettext("%(amount)s more to reach %(tier)s") % {"amount": amount, "tier": tier}
    return gettext("Earn %(amount)s more to reach %(tier)s") % {"amount": amount, "tier": tier}


def _keep(metric: str, amount: str) -> str:
    if metric == "money_paid_fen":
        return gettext("Spend %(amount)s more to keep your tier") % {"amount": amount}
    if metric == "liters_centi":
        return gettext("Fill up %(amount)s more to keep your tier") % {"amount": amount}
    if metric == "visits":
        return gettext("%(amount)s more to keep your tier") % {"amount": amount}
    return gettext("Earn %(amount)s more to keep your tier") % {"amount": amount}


def tier_view(session: Session, member: Member) -> TierView:
    """The tiers service's progress (as the API's ``/me/tier``) with the nudge texts."""
    metric = tiers.program(session).metric
    progress = tiers.progress(session, member.id, utcnow())
    upgrade = keep = None
    if progress.next_tier is not None and progress.to_next:
        upgrade = _upgrade(metric, _amount(metric, progress.to_next), progress.next_tier.name)
    if progress.to_keep > 0:
        keep = _keep(metric, _amount(metric, progress.to_keep))
    return TierView(
        name=progress.tier.name,
        value=progress.value,
        goal=progress.next_tier.threshold if progress.next_tier else max(progress.value, 1),
        next_name=progress.next_tier.name if progress.next_tier else None,
        upgrade=upgrade,
        keep=keep,
    )


def _code_context(request: Request, member: Member) -> dict[str, object]:
    code = current_code(member.code_id or "", members.code_secret_of(pii_of(request), member), utcnow())
    svg = base64.b64encode(qr_svg(code.code).encode()).decode()
    return {
        "code": code.code,
        "qr_src": f"data:image/svg+xml;base64,{svg}",
        "refresh_seconds": CODE_REFRESH_SECONDS,
    }


@router.get("")
def card(request: Request, session: SessionDep, member: CurrentWebMember) -> Response:
    """The member card: QR code, points, tier."""
    now = utcnow()
    balances = points.balances(session, member.id)
    expiring = points.expiring(session, member.id, within=EXPIRING_WITHIN, now=now)
    personal = members.personal(pii_of(request), member, reveal=True)
    return render(
        request,
        "member/card.html",
        {
            "section": "/m",
            "name": personal.name,
            "card_no": member.card_no,
            "balances": balances,
            "expiring_points": sum(lot.remaining for lot in expiring),
            "expiring_first": expiring[0].expires_at if expiring else None,
            "tier": tier_view(session, member),
            **_code_context(request, member),
        },
    )


@router.get("/code")
def member_code(request: Request, member: CurrentWebMember) -> Response:
    """The QR fragment the card page fetches every 30 s (the code rotates every 30 s)."""
    return render(request, "member/_code.html", _code_context(request, member))
