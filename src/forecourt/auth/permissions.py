"""Roles (SPEC X1) and what each may do.

Every route declares one permission (or public / device / member access); the test
``tests/auth/test_route_permissions.py`` walks the OpenAPI routes × roles against this table.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    FINANCE = "finance"
    SERVICE = "service"
    STATION_MANAGER = "station_manager"
    ATTENDANT = "attendant"
    AGENT = "agent"
    PARTNER = "partner"


STATION_BOUND_ROLES = frozenset({Role.STATION_MANAGER, Role.ATTENDANT})
"""Roles whose accounts belong to one station and act on it alone."""


class Permission(StrEnum):
    STATIONS_READ = "stations:read"
    STATIONS_WRITE = "stations:write"
    """Create and edit regions, stations, pumps and nozzles."""
    STATIONS_OPERATE = "stations:operate"
    """Open and close a station (a manager: their own)."""
    PRICES_WRITE = "prices:write"
    """Set a station's prices (a manager: their own station's)."""
    PRICES_WRITE_REGION = "prices:write_region"
    """Change a grade's price at every station of a region at once."""
    DEVICES_MANAGE = "devices:manage"
    STAFF_MANAGE = "staff:manage"
    AUDIT_READ = "audit:read"
    OUTBOX_READ = "outbox:read"
    MEMBERS_READ = "members:read"
    """Find members and see them masked."""
    MEMBERS_WRITE = "members:write"
    """Register members, edit profiles, plates and vehicles."""
    MEMBERS_PII = "members:pii"
    """See a member's phone, name and ID number unmasked (each view is audited)."""
    MEMBERS_ERASE = "members:erase"
    """Erase a member's personal data at their request."""
    MEMBERS_IMPORT = "members:import"
    PLATES_TRANSFER = "plates:transfer"
    """Approve or reject plate transfer requests."""
    TAGS_MANAGE = "tags:manage"
    POINTS_ADJUST = "points:adjust"
    """Ask for a manual grant or deduction of a member's points."""
    POINTS_APPROVE = "points:approve"
    """Approve or reject someone else's point adjustment."""
    TIERS_MANAGE = "tiers:manage"
    """Set a member's tier by hand."""
    REPORTS_FINANCE = "reports:finance"
    """Points liability, breakage and earn/burn reports."""
    RULES_READ = "rules:read"
    """See the earning rules, preview what a basket earns, back-test a draft rule."""
    RULES_MANAGE = "rules:manage"
    """Create, change, retire, import and export earning rules."""
    COUPONS_READ = "coupons:read"
    """See coupon templates, packs, batches and the coupon reports."""
    COUPONS_MANAGE = "coupons:manage"
    """Design templates and packs, generate batches of codes, issue coupons to members."""
    COUPONS_VERIFY = "coupons:verify"
    """Verify (核销) a standalone voucher at a station (station-bound staff: their own)."""
    COUPONS_PARTNER_VERIFY = "coupons:partner_verify"
    """Verify the partner's own coupons and record the settlement price (partner accounts)."""
    WALLET_TOP_UP = "wallet:top_up"
    """Put money into a member's wallet paid at a counter or by transfer (station staff: theirs)."""
    WALLET_MANAGE = "wallet:manage"
    """Set the top-up bonus tiers."""
    PAYMENTS_READ = "payments:read"
    """See payment intents, provider notifications and refunds."""
    PAYMENTS_REFUND = "payments:refund"
    """Send money back through the provider that collected it."""
    RISK_REVIEW = "risk:review"
    """See risk decisions and review them."""
    RISK_MANAGE = "risk:manage"
    """Tune the risk rules."""
    RECONCILIATION = "reconciliation:manage"
    """Import provider statements, run reconciliation, resolve the differences."""
    INVOICES_MANAGE = "invoices:manage"
    """Handle members' invoice requests (issue, retry, mark failed)."""
    RECHARGE_CARDS_MANAGE = "recharge_cards:manage"
    """Print batches of prepaid recharge cards and export their codes."""
    RECHARGE_CARDS_ACTIVATE = "recharge_cards:activate"
    """Activate a recharge card when it is sold at a counter."""
    DASHBOARD_READ = "dashboard:read"
    """See the chain-wide dashboard: members, sales, points and coupon use over time."""
    POS_SELL = "pos:sell"
    """Sell at the station console: identify a member, quote and commit a sale (their own station)."""


_EVERYONE_IN_OPERATIONS = {Permission.STATIONS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETING: frozenset(
        {
            *_EVERYONE_IN_OPERATIONS,
            Permission.DASHBOARD_READ,
            Permission.MEMBERS_READ,
            Permission.TAGS_MANAGE,
            Permission.RULES_READ,
            Permission.RULES_MANAGE,
            Permission.COUPONS_READ,
            Permission.COUPONS_MANAGE,
        }
    ),
    Role.FINANCE: frozenset(
        {
            *_EVERYONE_IN_OPERATIONS,
            Permission.DASHBOARD_READ,
            Permission.MEMBERS_READ,
            Permission.POINTS_APPROVE,
            Permission.REPORTS_FINANCE,
            Permission.RULES_READ,
            Permission.COUPONS_READ,
            Permission.WALLET_TOP_UP,
            Permission.WALLET_MANAGE,
            Permission.PAYMENTS_READ,
            Permission.PAYMENTS_REFUND,
            Permission.RISK_REVIEW,
            Permission.RISK_MANAGE,
            Permission.RECONCILIATION,
            Permission.INVOICES_MANAGE,
            Permission.RECHARGE_CARDS_MANAGE,
            Permission.RECHARGE_CARDS_ACTIVATE,
        }
    ),
    Role.SERVICE: frozenset(
        {
            *_EVERYONE_IN_OPERATIONS,
            Permission.DASHBOARD_READ,
            Permission.MEMBERS_READ,
            Permission.MEMBERS_WRITE,
            Permission.MEMBERS_PII,
            Permission.MEMBERS_ERASE,
            Permission.PLATES_TRANSFER,
            Permission.TAGS_MANAGE,
            Permission.POINTS_ADJUST,
            Permission.TIERS_MANAGE,
        }
    ),
    Role.STATION_MANAGER: frozenset(
        {
            *_EVERYONE_IN_OPERATIONS,
            Permission.STATIONS_OPERATE,
            Permission.PRICES_WRITE,
            Permission.DEVICES_MANAGE,
            Permission.MEMBERS_READ,
            Permission.MEMBERS_WRITE,
            Permission.PLATES_TRANSFER,
            Permission.COUPONS_VERIFY,
            Permission.WALLET_TOP_UP,
            Permission.RECHARGE_CARDS_ACTIVATE,
            Permission.POS_SELL,
        }
    ),
    Role.ATTENDANT: frozenset(
        {
            *_EVERYONE_IN_OPERATIONS,
            Permission.MEMBERS_READ,
            Permission.MEMBERS_WRITE,
            Permission.COUPONS_VERIFY,
            Permission.WALLET_TOP_UP,
            Permission.RECHARGE_CARDS_ACTIVATE,
            Permission.POS_SELL,
        }
    ),
    Role.AGENT: frozenset({*_EVERYONE_IN_OPERATIONS, Permission.MEMBERS_READ, Permission.MEMBERS_WRITE}),
    Role.PARTNER: frozenset({Permission.COUPONS_PARTNER_VERIFY}),
}


def permissions_of(role: str) -> frozenset[str]:
    return frozenset(str(p) for p in ROLE_PERMISSIONS.get(Role(role), frozenset()))
