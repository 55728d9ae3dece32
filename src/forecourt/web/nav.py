"""The consoles' navigation: each entry shows only to those holding the permission its page needs."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.auth.permissions import Permission
from forecourt.kit.actor import Actor
from forecourt.web.i18n import N_, gettext


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    """An English msgid; shown through ``gettext``."""
    permission: Permission | None

    def title(self) -> str:
        return gettext(self.label)


ADMIN_NAV = (
    NavItem("/admin", N_("Dashboard"), Permission.DASHBOARD_READ),
    NavItem("/admin/members", N_("Members"), Permission.MEMBERS_READ),
    NavItem("/admin/program", N_("Program"), Permission.RULES_READ),
    NavItem("/admin/coupons", N_("Coupons"), Permission.COUPONS_READ),
    NavItem("/admin/finance", N_("Finance"), Permission.REPORTS_FINANCE),
    NavItem("/admin/adjustments", N_("Adjustments"), Permission.POINTS_APPROVE),
    NavItem("/admin/stations", N_("Stations and prices"), Permission.STATIONS_READ),
    NavItem("/admin/staff", N_("Staff and roles"), Permission.STAFF_MANAGE),
    NavItem("/admin/audit", N_("Audit log"), Permission.AUDIT_READ),
)

STATION_NAV = (
    NavItem("/station", N_("Sell"), Permission.POS_SELL),
    NavItem("/station/verify", N_("Verify voucher"), Permission.COUPONS_VERIFY),
    NavItem("/station/manage", N_("Prices and opening"), Permission.PRICES_WRITE),
    NavItem("/station/shift", N_("Shift report"), Permission.STATIONS_OPERATE),
)

MEMBER_NAV = (
    NavItem("/m", N_("Card"), None),
    NavItem("/m/coupons", N_("Coupons"), None),
    NavItem("/m/wallet", N_("Wallet"), None),
    NavItem("/m/history", N_("History"), None),
    NavItem("/m/profile", N_("Me"), None),
)


def visible(items: tuple[NavItem, ...], actor: Actor | None) -> list[NavItem]:
    return [i for i in items if i.permission is None or (actor is not None and actor.has(i.permission))]
