"""Admin dashboard: members, sales, points, liability and coupon use over time (ECharts).

The period is the last 7, 30 or 90 chain days (``?days=``), today included. Every figure comes
from a context's service (aggregated in SQL there); this page only lays days side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.coupons.daily_figures import coupons_per_day
from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.ledger import liability
from forecourt.ledger.daily_figures import outstanding_now, points_per_day
from forecourt.members.daily_figures import member_count, new_members_per_day
from forecourt.pos.daily_figures import sales_per_day
from forecourt.web.access import staff_page
from forecourt.web.i18n import gettext
from forecourt.web.routing import web_router
from forecourt.web.templating import render

router = web_router(prefix="/admin")

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


def period_of(value: str | None) -> int:
    """7, 30 or 90 days; anything else is the default 30."""
    try:
        days = int(value) if value else DEFAULT_PERIOD
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def yuan_number(fen: int) -> str:
    """Fen as a decimal yuan string for a chart axis (exact; ECharts reads numeric strings)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Any]
    kind: str = "bar"
    axis: int = 0


def chart_option(days: list[date], series: list[Series], *, axes: int = 1) -> dict[str, Any]:
    """An ECharts option: days on the x axis, one or two value axes."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [s.name for s in series], "top": 0},
        "grid": {"left": 48, "right": 48 if axes > 1 else 16, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": [day.isoformat() for day in days]},
        "yAxis": [{"type": "value"} for _ in range(axes)],
        "series": [
            {
                "name": s.name,
                "type": s.kind,
                "data": s.values,
                "yAxisIndex": s.axis,
                "smooth": s.kind == "line",
            }
            for s in series
        ],
    }


def dashboard_figures(session: Session, unit_cost_millifen: int, days: int) -> dict[str, Any]:
    last = chain_date(utcnow())
    first = last - timedelta(days=days - 1)
    calendar = [first + timedelta(days=n) for n in range(days)]
    joined = new_members_per_day(session, first, last)
    sales = {row.day: row for row in sales_per_day(session, first, last)}
    moved = {row.day: row for row in points_per_day(session, first, last)}
    coupons = {row.day: row for row in coupons_per_day(session, first, last)}
    snapshots = liability.snapshots(session, first, last)
    outstanding = outstanding_now(session, unit_cost_millifen)

    def of(rows: dict[date, Any], field: str) -> list[int]:
        return [getattr(rows[day], field) if day in rows else 0 for day in calendar]

    new_members = [joined.get(day, 0) for day in calendar]
    active = of(sales, "members")
    sale_counts = of(sales, "sales")
    sale_fen = of(sales, "gross_fen")
    earned, spent, expired = of(moved, "earned"), of(moved, "spent"), of(moved, "expired")
    issued, used = of(coupons, "issued"), of(coupons, "used")
    charts = {
        "chart-members": chart_option(
            calendar,
            [
                Series(gettext("New members"), new_members),
                Series(gettext("Active members"), active, "line"),
            ],
        ),
        "chart-sales": chart_option(
            calendar,
            [
                Series(gettext("Sales"), sale_counts),
                Series(gettext("Sales value (¥)"), [yuan_number(v) for v in sale_fen], "line", 1),
            ],
            axes=2,
        ),
        "chart-points": chart_option(
            calendar,
            [
                Series(gettext("Points earned"), earned),
                Series(gettext("Points spent"), spent),
                Series(gettext("Points expired"), expired),
            ],
        ),
        "chart-coupons": chart_option(
            calendar,
            [Series(gettext("Coupons issued"), issued), Series(gettext("Coupons used"), used, "line")],
        ),
    }
    if snapshots:
        charts["chart-liability"] = chart_option(
            [row.business_day for row in snapshots],
            [
                Series(
                    gettext("Outstanding points"),
                    [row.outstanding + row.pending for row in snapshots],
                    "line",
                ),
                Series(
                    gettext("Liability (¥)"), [yuan_number(row.liability_fen) for row in snapshots], "line", 1
                ),
            ],
            axes=2,
        )
    return {
        "days": days,
        "periods": PERIODS,
        "first": first,
        "last": last,
        "charts": charts,
        "kpi": {
            "members": member_count(session),
            "new_members": sum(new_members),
            "sales": sum(sale_counts),
            "sales_fen": sum(sale_fen),
            "earned": sum(earned),
            "spent": sum(spent),
            "issued": sum(issued),
            "used": sum(used),
            "outstanding": outstanding,
        },
    }


@router.get("")
def dashboard(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    actor: Annotated[Actor, staff_page(Permission.DASHBOARD_READ)],
    days: str | None = None,
) -> Response:
    """The chain's figures by day; the points liability in ¥ only for those who see finance reports."""
    settings = request.app.state.settings
    figures = dashboard_figures(session, settings.point_unit_cost_millifen, period_of(days))
    context = {"section": "/admin", "sees_liability": actor.has(Permission.REPORTS_FINANCE), **figures}
    return render(request, "admin/dashboard.html", context)
