"""Admin staff accounts and roles.

Every change goes through ``auth.service`` (the API's staff routes): it checks the role and the
station (station-bound roles need one, others none), refuses a change of one's own access,
revokes the account's live tokens when its role, station or activity changes, and audits it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from forecourt.auth import service as auth
from forecourt.auth.models import StaffUser
from forecourt.auth.permissions import ROLE_PERMISSIONS, STATION_BOUND_ROLES, Permission, Role
from forecourt.db.session import get_session
from forecourt.kit.actor import Actor
from forecourt.stations import service as stations
from forecourt.web.access import staff_page
from forecourt.web.admin.stations import after_post
from forecourt.web.i18n import N_, gettext
from forecourt.web.routing import web_router
from forecourt.web.tables import PER_PAGE, offset_of, page_number, page_of, xlsx_response
from forecourt.web.templating import render

router = web_router(prefix="/admin")

SessionDep = Annotated[Session, Depends(get_session)]
Manager = Annotated[Actor, staff_page(Permission.STAFF_MANAGE)]
ALL_ACCOUNTS = 100_000

ROLES: dict[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.MARKETING: N_("Marketing"),
    Role.FINANCE: N_("Finance"),
    Role.SERVICE: N_("Customer service"),
    Role.STATION_MANAGER: N_("Station manager"),
    Role.ATTENDANT: N_("Attendant"),
    Role.AGENT: N_("Agent"),
    Role.PARTNER: N_("Partner"),
}
PERMISSIONS: dict[Permission, str] = {
    Permission.STATIONS_READ: N_("See stations, grades and prices"),
    Permission.STATIONS_WRITE: N_("Create and edit regions, stations, pumps and nozzles"),
    Permission.STATIONS_OPERATE: N_("Open and close a station"),
    Permission.PRICES_WRITE: N_("Set a station's prices"),
    Permission.PRICES_WRITE_REGION: N_("Change a grade's price across a region"),
    Permission.DEVICES_MANAGE: N_("Register and revoke POS devices"),
    Permission.STAFF_MANAGE: N_("Manage staff accounts"),
    Permission.AUDIT_READ: N_("Read the audit log"),
    Permission.OUTBOX_READ: N_("See the event outbox"),
    Permission.MEMBERS_READ: N_("Find members and see them masked"),
    Permission.MEMBERS_WRITE: N_("Register members, edit profiles, plates and vehicles"),
    Permission.MEMBERS_PII: N_("See members' phone, name and ID unmasked (audited)"),
    Permission.MEMBERS_ERASE: N_("Erase a member's personal data"),
    Permission.MEMBERS_IMPORT: N_("Import members"),
    Permission.PLATES_TRANSFER: N_("Approve plate transfers"),
    Permission.TAGS_MANAGE: N_("Manage member tags"),
    Permission.POINTS_ADJUST: N_("Ask for a manual points adjustment"),
    Permission.POINTS_APPROVE: N_("Approve someone else's points adjustment"),
    Permission.TIERS_MANAGE: N_("Set a member's tier by hand"),
    Permission.REPORTS_FINANCE: N_("Points liability, breakage and earn/burn reports"),
    Permission.RULES_READ: N_("See earning rules, preview and back-test them"),
    Permission.RULES_MANAGE: N_("Create, change, retire, import and export earning rules"),
    Permission.COUPONS_READ: N_("See coupon templates, batches and reports"),
    Permission.COUPONS_MANAGE: N_("Design coupons, generate batches, issue coupons"),
    Permission.COUPONS_VERIFY: N_("Verify vouchers at a station"),
    Permission.COUPONS_PARTNER_VERIFY: N_("Verify the partner's own coupons"),
    Permission.WALLET_TOP_UP: N_("Top up a member's wallet at a counter"),
    Permission.WALLET_MANAGE: N_("Set the top-up bonus tiers"),
    Permission.PAYMENTS_READ: N_("See payments, notifications and refunds"),
    Permission.PAYMENTS_REFUND: N_("Refund through the payment provider"),
    Permission.RISK_REVIEW: N_("Review risk decisions"),
    Permission.RISK_MANAGE: N_("Tune the risk rules"),
    Permission.RECONCILIATION: N_("Import statements and reconcile"),
    Permission.INVOICES_MANAGE: N_("Handle invoice requests"),
    Permission.RECHARGE_CARDS_MANAGE: N_("Print recharge card batches and export their codes"),
    Permission.RECHARGE_CARDS_ACTIVATE: N_("Activate a recharge card sold at a counter"),
    Permission.POS_SELL: N_("Sell at the station console"),
}
STAFF_COLUMNS = (
    N_("Username"),
    N_("Name"),
    N_("Role"),
    N_("Station"),
    N_("Active"),
    N_("Last sign-in"),
    N_("Created"),
)


def role_label(role: str) -> str:
    try:
        return gettext(ROLES[Role(role)])
    except (ValueError, KeyError):
        return role


def permission_label(permission: Permission) -> str:
    return gettext(PERMISSIONS[permission]) if permission in PERMISSIONS else str(permission)


def _accounts(session: Session, role: str | None) -> Sequence[StaffUser]:
    known = role if role in {r.value for r in Role} else None
    return auth.list_users(session, role=known, limit=ALL_ACCOUNTS)


def _station_id(session: Session, code: str) -> uuid.UUID | None:
    return stations.get_station(session, code).id if code.strip() else None


def _context(session: Session) -> dict[str, Any]:
    return {
        "section": "/admin/staff",
        "roles": [(role.value, gettext(label)) for role, label in ROLES.items()],
        "station_roles": sorted(r.value for r in STATION_BOUND_ROLES),
        "role_label": role_label,
        "all_stations": stations.list_stations(session, limit=1000),
    }


@router.get("/staff")
def staff_list(
    request: Request, actor: Manager, session: SessionDep, role: str | None = None, page: str | None = None
) -> Response:
    number = page_number(page)
    accounts = _accounts(session, role)
    start = offset_of(number)
    shown = accounts[start : start + PER_PAGE]
    return render(
        request,
        "admin/staff/list.html",
        {
            **_context(session),
            "subsection": "accounts",
            "role": role or "",
            "page": page_of(request, shown, page=number, total=len(accounts)),
            "station_codes": stations.station_codes(session, {u.station_id for u in shown if u.station_id}),
            "export_url": str(request.url.replace(path="/admin/staff.xlsx")),
        },
    )


@router.get("/staff.xlsx")
def staff_export(actor: Manager, session: SessionDep, role: str | None = None) -> Response:
    accounts = _accounts(session, role)
    codes = stations.station_codes(session, {u.station_id for u in accounts if u.station_id})
    rows = [
        (
            u.username,
            u.display_name,
            role_label(u.role),
            codes.get(u.station_id, "") if u.station_id else "",
            gettext("Yes") if u.is_active else gettext("No"),
            u.last_login_at.isoformat() if u.last_login_at else "",
            u.created_at.isoformat(),
        )
        for u in accounts
    ]
    return xlsx_response(gettext("Staff"), [gettext(c) for c in STAFF_COLUMNS], rows)


@router.get("/staff/roles")
def role_page(request: Request, actor: Manager, session: SessionDep) -> Response:
    """Each role and what it may do (the API's permission table)."""
    return render(
        request,
        "admin/staff/roles.html",
        {
            **_context(session),
            "subsection": "roles",
            "table": [
                (role.value, gettext(ROLES[role]), sorted(ROLE_PERMISSIONS[role], key=list(Permission).index))
                for role in ROLES
            ],
            "permission_label": permission_label,
        },
    )


@router.post("/staff")
def create_account(
    request: Request,
    actor: Manager,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    station: Annotated[str, Form()] = "",
) -> Response:
    user = auth.create_user(
        session,
        actor,
        username=username,
        password=password,
        role=role,
        station_id=_station_id(session, station) if role in STATION_BOUND_ROLES else None,
        display_name=display_name.strip(),
    )
    return after_post(request, f"/admin/staff/{user.id}?saved=created")


@router.get("/staff/{user_id}")
def account_detail(
    user_id: uuid.UUID, request: Request, actor: Manager, session: SessionDep, saved: str | None = None
) -> Response:
    user = auth.get_user(session, user_id)
    station = stations.get_station_by_id(session, user.station_id) if user.station_id else None
    return render(
        request,
        "admin/staff/detail.html",
        {
            **_context(session),
            "subsection": "accounts",
            "user": user,
            "station": station,
            "saved": saved,
            "is_self": actor.id == str(user.id),
            "permissions": sorted(
                ROLE_PERMISSIONS.get(Role(user.role), frozenset()), key=list(Permission).index
            ),
            "permission_label": permission_label,
        },
    )


@router.post("/staff/{user_id}/access")
def change_access(
    user_id: uuid.UUID,
    request: Request,
    actor: Manager,
    session: SessionDep,
    role: Annotated[str, Form()] = "",
    station: Annotated[str, Form()] = "",
) -> Response:
    """A new role or station (the account's tokens are revoked: it signs in again)."""
    auth.update_user(
        session,
        actor,
        user_id,
        role=role,
        station_id=_station_id(session, station) if role in STATION_BOUND_ROLES else None,
    )
    return after_post(request, f"/admin/staff/{user_id}?saved=access")


@router.post("/staff/{user_id}/active")
def change_active(
    user_id: uuid.UUID,
    request: Request,
    actor: Manager,
    session: SessionDep,
    active: Annotated[str, Form()] = "",
) -> Response:
    is_active = active == "true"
    auth.update_user(session, actor, user_id, is_active=is_active)
    return after_post(request, f"/admin/staff/{user_id}?saved={'enabled' if is_active else 'disabled'}")


@router.post("/staff/{user_id}/revoke")
def revoke(user_id: uuid.UUID, request: Request, actor: Manager, session: SessionDep) -> Response:
    """Sign the account out everywhere."""
    auth.revoke_tokens(session, actor, user_id)
    return after_post(request, f"/admin/staff/{user_id}?saved=revoked")
