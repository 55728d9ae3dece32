"""Admin finance pages: liability, wallet funds flow, reconciliation queue, adjustment approvals.

Everything here reads the finance-facing services (``ledger.liability``, ``finance.service``,
``reconciliation.service``, ``ledger.adjustments``); the decisions (approve, reject, resolve) are
theirs too, including the four-eyes rules, whose refusals show in the page's message area.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth.permissions import Permission
from forecourt.db.session import get_session
from forecourt.finance import service as finance
from forecourt.finance.workbook import workbook_bytes
from forecourt.kit.actor import Actor
from forecourt.kit.clock import chain_date, utcnow
from forecourt.ledger import adjustments, liability
from forecourt.ledger.daily_figures import outstanding_now
from forecourt.members import service as members
from forecourt.reconciliation import service as reconciliation
from forecourt.web.access import staff_page
from forecourt.web.admin.dashboard import Series, chart_option, yuan_number
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import XLSX_MEDIA_TYPE, offset_of, page_number, page_of
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]
DEFAULT_DAYS = 7
QUEUE_LIMIT = 100

FIGURE_LABELS = {
    "top_ups_fen": N_("Top-ups"),
    "top_up_refunds_fen": N_("Top-up refunds"),
    "bonus_given_fen": N_("Bonus given"),
    "bonus_taken_back_fen": N_("Bonus taken back"),
    "wallet_spent_fen": N_("Wallet spent"),
    "bonus_spent_fen": N_("Bonus spent"),
    "wallet_refunds_fen": N_("Wallet refunds"),
    "bonus_refunded_fen": N_("Bonus refunded"),
    "expired_fen": N_("Expired"),
    "other_fen": N_("Other"),
    "external_paid_fen": N_("External paid"),
    "external_refunded_fen": N_("External refunded"),
}
RESOLUTION_LABELS = {
    "accepted_provider": N_("Accept the provider's figure"),
    "accepted_ours": N_("Accept our figure"),
    "written_off": N_("Write off"),
    "credited_member": N_("Credit the member's top-up"),
}


def _finance_page(request: Request, tab: str, context: dict[str, Any]) -> Response:
    return render(request, f"admin/finance/{tab}.html", {"section": "/admin/finance", "tab": tab, **context})


# --- liability ------------------------------------------------------------------------------------


@router.get("/finance")
def liability_page(
    request: Request, session: SessionDep, actor: Annotated[Actor, staff_page(Permission.REPORTS_FINANCE)]
) -> Response:
    """Points outstanding now, the daily snapshots of the last 30 days, earn/burn per station."""
    last = chain_date(utcnow())
    first = last - timedelta(days=29)
    snapshots = liability.snapshots(session, first, last)
    flows = liability.earn_burn(
        session, liability.end_of_day(first - timedelta(days=1)), liability.end_of_day(last)
    )
    chart = None
    if snapshots:
        chart = chart_option(
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
    return _finance_page(
        request,
        "liability",
        {
            "now": outstanding_now(session, request.app.state.settings.point_unit_cost_millifen),
            "snapshots": list(reversed(snapshots)),
            "breakage": liability.breakage_rate(snapshots[-1]) if snapshots else None,
            "flows": flows,
            "chart": chart,
            "first": first,
            "last": last,
        },
    )


# --- funds flow -----------------------------------------------------------------------------------


def _period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    last = date_to or chain_date(utcnow())
    return date_from or last - timedelta(days=DEFAULT_DAYS - 1), last


Station = Annotated[str | None, Query(max_length=32)]


@router.get("/finance/funds")
def funds_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.REPORTS_FINANCE)],
    date_from: date | None = None,
    date_to: date | None = None,
    station: Station = None,
    page: str | None = None,
) -> Response:
    """Wallet money and sale payments per chain day, station and method."""
    first, last = _period(date_from, date_to)
    report = finance.funds_flow(session, first, last, station or None)
    number = page_number(page)
    start = offset_of(number)
    return _finance_page(
        request,
        "funds",
        {
            "report": report,
            "rows": page_of(request, report.rows[start : start + 25], page=number, total=len(report.rows)),
            "labels": {key: gettext(label) for key, label in FIGURE_LABELS.items()},
            "date_from": first,
            "date_to": last,
            "station": station or "",
            "export_query": urlencode(
                {
                    "date_from": first.isoformat(),
                    "date_to": last.isoformat(),
                    **({"station": station} if station else {}),
                }
            ),
        },
    )


@router.get("/finance/funds.xlsx")
def funds_export(
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.REPORTS_FINANCE)],
    date_from: date | None = None,
    date_to: date | None = None,
    station: Station = None,
) -> Response:
    """The funds flow as the finance context's workbook (detail, by day, by method)."""
    first, last = _period(date_from, date_to)
    report = finance.funds_flow(session, first, last, station or None)
    name = f"funds-flow-{first.isoformat()}-{last.isoformat()}.xlsx"
    return Response(
        workbook_bytes(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- reconciliation -------------------------------------------------------------------------------


def _queue(session: Session, status: str) -> dict[str, Any]:
    return {
        "items": reconciliation.list_items(session, status=status, limit=QUEUE_LIMIT),
        "status": status,
        "resolutions": {key: gettext(label) for key, label in RESOLUTION_LABELS.items()},
    }


def _status(value: str | None) -> str:
    return value if value in ("open", "resolved") else "open"


@router.get("/finance/reconciliation")
def reconciliation_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.RECONCILIATION)],
    status: str | None = None,
) -> Response:
    return _finance_page(request, "reconciliation", _queue(session, _status(status)))


@router.post("/finance/reconciliation/{item_id}/resolve")
def resolve_item(
    item_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.RECONCILIATION)],
    resolution: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Resolve one difference (the service refuses what four eyes forbid); the open queue again."""
    item = reconciliation.resolve(
        session, request.app.state.ledger_signer, actor, item_id, resolution=resolution, note=note
    )
    return render(request, "admin/finance/_queue.html", {**_queue(session, "open"), "resolved_item": item})


# --- adjustments ----------------------------------------------------------------------------------


def _adjustment_rows(session: Session, tab: str) -> list[dict[str, Any]]:
    statuses = ("pending",) if tab == "pending" else ("approved", "rejected")
    found = adjustments.list_adjustments(session, status=statuses, member_id=None, limit=QUEUE_LIMIT)
    cards: dict[uuid.UUID, str | None] = {}
    for row in found:
        if row.member_id not in cards:
            cards[row.member_id] = members.get_member(session, row.member_id, allow_deleted=True).card_no
    return [{"a": row, "card_no": cards[row.member_id]} for row in found]


def _adjustments_context(session: Session, tab: str, actor: Actor) -> dict[str, Any]:
    return {"rows": _adjustment_rows(session, tab), "tab": tab, "me": str(actor.id)}


@router.get("/adjustments")
def adjustments_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.POINTS_APPROVE)],
    tab: str | None = None,
) -> Response:
    """The maker–checker queue: adjustments waiting for approval, and those decided."""
    shown = tab if tab in ("pending", "decided") else "pending"
    return render(
        request,
        "admin/finance/adjustments.html",
        {"section": "/admin/adjustments", **_adjustments_context(session, shown, actor)},
    )


@router.post("/adjustments/{adjustment_id}/approve")
def approve_adjustment(
    adjustment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.POINTS_APPROVE)],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Post the adjustment to the ledger (never by whoever asked for it: ``self_approval``)."""
    decided = adjustments.approve(session, actor, request.app.state.ledger_signer, adjustment_id, note=note)
    return render(
        request,
        "admin/finance/_adjustment_queue.html",
        {**_adjustments_context(session, "pending", actor), "decided": decided},
    )


@router.post("/adjustments/{adjustment_id}/reject")
def reject_adjustment(
    adjustment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.POINTS_APPROVE)],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    decided = adjustments.reject(session, actor, adjustment_id, note=note)
    return render(
        request,
        "admin/finance/_adjustment_queue.html",
        {**_adjustments_context(session, "pending", actor), "decided": decided},
    )
