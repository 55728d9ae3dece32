"""Admin member pages: search, masked detail, points, coupons, wallet, tiers, audit trail.

Searching by phone, plate, card number, name or tag is a POST (no personal data in URLs), as is its
Excel export. The detail shows personal data masked; staff holding ``members:pii`` reveal it (each
reveal is audited by ``members.service.reveal``). Staff holding ``points:adjust`` ask for a manual
adjustment; it stays pending until someone else approves it (``/admin/adjustments``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.audit.browse import AuditFilter
from forecourt.audit.browse import entries as audit_entries
from forecourt.auth.permissions import Permission
from forecourt.coupons.member_coupons import coupons_of
from forecourt.db.session import get_session, reads_only
from forecourt.errors import InvalidRequest
from forecourt.kit.actor import Actor
from forecourt.kit.clock import to_chain_time, utcnow
from forecourt.kit.pagination import decode_time_cursor, time_page
from forecourt.ledger import adjustments, history
from forecourt.ledger.points import ASSET as POINTS
from forecourt.ledger.statement import member_statement
from forecourt.members import service as members
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.schemas import MemberSummary
from forecourt.members.views import member_detail, member_summary
from forecourt.tiers import service as tiers
from forecourt.wallet import service as wallet
from forecourt.web.access import staff_page
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import PER_PAGE, offset_of, page_number, xlsx_response
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]
SEARCH_LIMIT = 500
"""The most rows a search shows (and exports)."""
WALLET = "cny"
EXPORT_ROWS = 10_000


STATUS_LABELS = {
    "active": N_("Active account"),
    "deleted": N_("Erased"),
    "unclaimed": N_("Not claimed"),
    "available": N_("Usable"),
    "used": N_("Used"),
    "refunded_expired": N_("Refunded after expiry"),
    "void": N_("Void"),
}
"""Member and coupon statuses as staff read them."""


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return gettext(label) if label else status


def _pii(request: Request) -> Pii:
    pii: Pii = request.app.state.pii
    return pii


@dataclass(frozen=True)
class SearchForm:
    phone: str = ""
    plate: str = ""
    card_no: str = ""
    name: str = ""
    tag: str = ""

    def query(self) -> members.SearchQuery:
        return members.SearchQuery(
            phone=self.phone.strip() or None,
            plate=self.plate.strip() or None,
            card_no=self.card_no.strip() or None,
            name=self.name.strip() or None,
            tag=self.tag.strip() or None,
        )


def _search_form(
    phone: Annotated[str, Form(max_length=32)] = "",
    plate: Annotated[str, Form(max_length=16)] = "",
    card_no: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    tag: Annotated[str, Form(max_length=64)] = "",
) -> SearchForm:
    return SearchForm(phone=phone, plate=plate, card_no=card_no, name=name, tag=tag)


Search = Annotated[SearchForm, Depends(_search_form)]


def _found(
    session: Session, pii: Pii, form: SearchForm, limit: int, shown: slice = slice(None)
) -> tuple[int, list[MemberSummary]]:
    """How many members match (up to ``limit``), newest first, and the ``shown`` ones masked
    (each summary reads plates and decrypts: only for the rows on the page)."""
    rows = members.search(session, pii, form.query(), before=None, limit=limit)
    return len(rows), [
        member_summary(session, m, members.personal(pii, m, reveal=False)) for m in rows[shown]
    ]


@router.get("/members")
def members_page(request: Request, actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)]) -> Response:
    return render(request, "admin/members/search.html", {"section": "/admin/members", "form": SearchForm()})


@router.post("/members/search")
@reads_only
def search_members(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)],
    form: Search,
    page: Annotated[str, Form(max_length=8)] = "1",
) -> Response:
    """The results table (a fragment for htmx, else the whole page), 25 a page."""
    number = page_number(page)
    start = offset_of(number)
    matched, results = _found(
        session,
        _pii(request),
        form,
        min(start + PER_PAGE + 1, SEARCH_LIMIT + 1),
        slice(start, start + PER_PAGE),
    )
    context = {
        "section": "/admin/members",
        "status_label": status_label,
        "form": form,
        "results": results,
        "page": number,
        "has_next": matched > start + PER_PAGE and start + PER_PAGE < SEARCH_LIMIT,
        "searched": True,
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "admin/members/_results.html", context)
    return render(request, "admin/members/search.html", context)


@router.post("/members/export")
@reads_only
def export_members(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)],
    form: Search,
) -> Response:
    """The search's rows (masked, up to 500) as an Excel workbook."""
    _, found = _found(session, _pii(request), form, SEARCH_LIMIT)
    return xlsx_response(
        "members",
        [
            gettext("Card number"),
            gettext("Name"),
            gettext("Phone"),
            gettext("Plates"),
            gettext("Status"),
            gettext("Registered"),
        ],
        (
            [
                row.card_no or "",
                row.name or "",
                row.phone or "",
                " ".join(row.plates),
                status_label(row.status),
                to_chain_time(row.created_at).strftime("%Y-%m-%d %H:%M"),
            ]
            for row in found
        ),
    )


def _member(session: Session, member_id: uuid.UUID) -> Member:
    return members.get_member(session, member_id, allow_deleted=True)


def _adjustments_of(session: Session, member_id: uuid.UUID) -> list[Any]:
    return list(adjustments.list_adjustments(session, status=None, member_id=member_id, limit=20))


@router.get("/members/{member_id}")
def member_page(
    member_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The member; the points ledger 25 postings a page (``cursor``: the last one shown)."""
    member = _member(session, member_id)
    pii = _pii(request)
    now = utcnow()
    lines = member_statement(
        session, member.id, POINTS, before=decode_time_cursor(cursor), limit=PER_PAGE + 1
    )
    shown, older = time_page(lines, PER_PAGE, lambda line: (line.recorded_at, line.posting_id))
    purse = wallet.balances(session, member.id)
    sees_adjustments = actor.has(Permission.POINTS_ADJUST) or actor.has(Permission.POINTS_APPROVE)
    asked = _adjustments_of(session, member.id) if sees_adjustments else []
    context = {
        "section": "/admin/members",
        "status_label": status_label,
        "m": member_detail(session, member, members.personal(pii, member, reveal=False)),
        "ledger": shown,
        "older": older,
        "paged": cursor is not None,
        "lots": history.open_lots(session, member.id),
        "coupons": coupons_of(session, member.id, "all", now),
        "purse": purse,
        "wallet_lines": member_statement(session, member.id, WALLET, limit=PER_PAGE),
        "progress": tiers.progress(session, member.id, now),
        "tier_history": tiers.history(session, member.id),
        "trail": audit_entries(
            session, AuditFilter(entity_ids=(str(member.id), *(str(a.id) for a in asked))), offset=0, limit=50
        )
        if actor.has(Permission.AUDIT_READ)
        else None,
        "adjustments": asked,
        "sees_adjustments": sees_adjustments,
        "can_reveal": actor.has(Permission.MEMBERS_PII),
        "can_adjust": actor.has(Permission.POINTS_ADJUST) and member.status != "deleted",
    }
    return render(request, "admin/members/detail.html", context)


@router.get("/members/{member_id}/ledger.xlsx")
def member_ledger_export(
    member_id: uuid.UUID,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)],
) -> Response:
    """The member's points postings, newest first, as an Excel workbook."""
    member = _member(session, member_id)
    lines = member_statement(session, member.id, POINTS, limit=EXPORT_ROWS)
    return xlsx_response(
        f"points-{member.card_no or member.id}",
        [gettext("Time"), gettext("Reason"), gettext("Available"), gettext("Pending"), gettext("Memo")],
        (
            [
                to_chain_time(line.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                line.reason,
                line.amounts.get("available", 0),
                line.amounts.get("pending", 0),
                line.memo,
            ]
            for line in lines
        ),
    )


@router.post("/members/{member_id}/reveal")
def reveal_member(
    member_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.MEMBERS_PII)],
) -> Response:
    """The profile with phone, name and ID number in full (audited)."""
    member = members.get_member(session, member_id)
    detail = member_detail(session, member, members.reveal(session, actor, _pii(request), member))
    return render(
        request,
        "admin/members/_profile.html",
        {"m": detail, "can_reveal": False, "revealed": True, "status_label": status_label},
    )


def _amount(raw: str) -> int:
    try:
        return int(raw.strip().replace(",", "").replace("+", ""))
    except ValueError:
        raise InvalidRequest(
            gettext("The amount is a whole number of points, e.g. 500 or -200."), field="amount"
        ) from None


@router.post("/members/{member_id}/adjustments")
def request_adjustment(
    member_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, staff_page(Permission.POINTS_ADJUST)],
    amount: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Ask for a grant (+) or deduction (−); it waits for a second person's approval."""
    made = adjustments.request(session, actor, member_id, amount=_amount(amount), reason=reason)
    return render(
        request,
        "admin/members/_adjustments.html",
        {
            "adjustments": _adjustments_of(session, member_id),
            "just_requested": made,
            "can_adjust": True,
            "member_id": member_id,
        },
    )
