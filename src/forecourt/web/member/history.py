"""Member H5 history: the member's sales (date, station, amount, points) a page at a time, and their
points postings (newest first, "older" by cursor as the member API pages them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.db.session import get_session
from forecourt.errors import AppError
from forecourt.kit.pagination import decode_time_cursor, time_page
from forecourt.ledger import history
from forecourt.pos import member_sales
from forecourt.stations import service as stations
from forecourt.web.access import CurrentWebMember
from forecourt.web.i18n import N_
from forecourt.web.routing import web_router
from forecourt.web.tables import offset_of, page_number, page_of
from forecourt.web.templating import render

router = web_router(prefix="/m")

SessionDep = Annotated[Session, Depends(get_session)]
PER_PAGE = 20
TABS = {"sales": N_("Fuel purchases"), "points": N_("Points")}
POINTS_REASONS = {
    "sale.earn": N_("Earned on a purchase"),
    "sale.redeem": N_("Used on a purchase"),
    "sale.refund.clawback": N_("Taken back: purchase refunded"),
    "sale.refund.return": N_("Given back: purchase refunded"),
    "expiry": N_("Expired"),
    "adjustment.grant": N_("Added by customer service"),
    "adjustment.deduct": N_("Deducted by customer service"),
    "coupon.exchange": N_("Exchanged for a coupon"),
    "reward.check_in": N_("Check-in reward"),
    "reward.reversed": N_("Reward reversed"),
}
SALE_STATUSES = {"refunded": N_("Refunded"), "partially_refunded": N_("Partly refunded")}


def _station_names(session: Session, codes: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in codes:
        try:
            names[code] = stations.get_station(session, code).name
        except AppError:
            names[code] = code
    return names


def _reason(reason: str) -> str:
    if reason in POINTS_REASONS:
        return POINTS_REASONS[reason]
    if reason.startswith("reward."):
        return N_("Reward")
    return reason


@router.get("/history")
def my_history(
    request: Request,
    session: SessionDep,
    member: CurrentWebMember,
    tab: str = "sales",
    page: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Sales (page numbers) or points postings (newest first, then older)."""
    tab = tab if tab in TABS else "sales"
    context: dict[str, object] = {"section": "/m/history", "tabs": TABS, "tab": tab}
    if tab == "sales":
        number = page_number(page)
        sales, total = member_sales.member_sales(
            session, member.id, offset=offset_of(number, PER_PAGE), limit=PER_PAGE
        )
        context["sales"] = page_of(request, sales, page=number, total=total, per_page=PER_PAGE)
        context["stations"] = _station_names(session, {sale.station_code for sale in sales})
        context["sale_statuses"] = SALE_STATUSES
    else:
        lines = history.member_postings(
            session, member.id, before=decode_time_cursor(cursor), limit=PER_PAGE + 1
        )
        shown, next_cursor = time_page(lines, PER_PAGE, lambda line: (line.recorded_at, line.posting_id))
        context["lines"] = [(line, _reason(line.reason)) for line in shown]
        context["next_cursor"] = next_cursor
        context["first_page"] = cursor is None
    return render(request, "member/history.html", context)
