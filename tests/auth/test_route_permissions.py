"""Every route declares who may call it, and the declaration is the one we expect.

``EXPECTED`` is written by hand, independent of the role table: a route whose declared policy
differs from it (or a new route missing from it) fails the first test, and the second test calls
every route of the OpenAPI document as every role and checks the HTTP answer against the role table.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from forecourt.auth.permissions import ROLE_PERMISSIONS, Role
from forecourt.web.security import is_web_path

EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/logout"): "staff:*",
    ("GET", "/api/v1/auth/me"): "staff:*",
    ("GET", "/api/v1/staff"): "staff:staff:manage",
    ("POST", "/api/v1/staff"): "staff:staff:manage",
    ("GET", "/api/v1/staff/{staff_id}"): "staff:staff:manage",
    ("PATCH", "/api/v1/staff/{staff_id}"): "staff:staff:manage",
    ("POST", "/api/v1/staff/{staff_id}/revoke-tokens"): "staff:staff:manage",
    ("GET", "/api/v1/regions"): "staff:stations:read",
    ("POST", "/api/v1/regions"): "staff:stations:write",
    ("PUT", "/api/v1/regions/{code}/prices"): "staff:prices:write_region",
    ("GET", "/api/v1/grades"): "staff:stations:read",
    ("GET", "/api/v1/stations"): "staff:stations:read",
    ("POST", "/api/v1/stations"): "staff:stations:write",
    ("GET", "/api/v1/stations/{code}"): "staff:stations:read",
    ("PATCH", "/api/v1/stations/{code}"): "staff:stations:write",
    ("PUT", "/api/v1/stations/{code}/status"): "staff:stations:operate",
    ("PUT", "/api/v1/stations/{code}/prices"): "staff:prices:write",
    ("GET", "/api/v1/stations/{code}/prices"): "staff:stations:read",
    ("GET", "/api/v1/stations/{code}/prices/history"): "staff:stations:read",
    ("GET", "/api/v1/stations/{code}/pumps"): "staff:stations:read",
    ("PUT", "/api/v1/stations/{code}/pumps"): "staff:stations:write",
    ("POST", "/api/v1/stations/{code}/devices"): "staff:devices:manage",
    ("GET", "/api/v1/devices"): "staff:devices:manage",
    ("POST", "/api/v1/devices/{device_id}/revoke"): "staff:devices:manage",
    ("GET", "/api/v1/pos/status"): "device",
    ("GET", "/api/v1/audit"): "staff:audit:read",
    ("POST", "/api/v1/pos/identify"): "device",
    ("POST", "/api/v1/member-auth/sms-codes"): "public",
    ("POST", "/api/v1/member-auth/login"): "public",
    ("POST", "/api/v1/member-auth/refresh"): "public",
    ("POST", "/api/v1/member-auth/logout"): "member",
    ("POST", "/api/v1/members"): "staff:members:write",
    ("GET", "/api/v1/members"): "staff:members:read",
    ("GET", "/api/v1/members/{member_id}"): "staff:members:read",
    ("POST", "/api/v1/members/{member_id}/reveal"): "staff:members:pii",
    ("PATCH", "/api/v1/members/{member_id}"): "staff:members:write",
    ("POST", "/api/v1/members/{member_id}/plates"): "staff:members:write",
    ("DELETE", "/api/v1/members/{member_id}/plates/{plate}"): "staff:members:write",
    ("POST", "/api/v1/members/{member_id}/vehicles"): "staff:members:write",
    ("PATCH", "/api/v1/members/{member_id}/vehicles/{vehicle_id}"): "staff:members:write",
    ("DELETE", "/api/v1/members/{member_id}/vehicles/{vehicle_id}"): "staff:members:write",
    ("POST", "/api/v1/members/{member_id}/tags"): "staff:tags:manage",
    ("DELETE", "/api/v1/members/{member_id}/tags/{tag}"): "staff:tags:manage",
    ("POST", "/api/v1/members/{member_id}/erase"): "staff:members:erase",
    ("GET", "/api/v1/plate-transfers"): "staff:plates:transfer",
    ("POST", "/api/v1/plate-transfers/{transfer_id}/approve"): "staff:plates:transfer",
    ("POST", "/api/v1/plate-transfers/{transfer_id}/reject"): "staff:plates:transfer",
    ("GET", "/api/v1/tags"): "staff:members:read",
    ("POST", "/api/v1/tags"): "staff:tags:manage",
    ("POST", "/api/v1/member-imports"): "staff:members:import",
    ("GET", "/api/v1/me"): "member",
    ("PATCH", "/api/v1/me"): "member",
    ("DELETE", "/api/v1/me"): "member",
    ("GET", "/api/v1/me/plates"): "member",
    ("POST", "/api/v1/me/plates"): "member",
    ("DELETE", "/api/v1/me/plates/{plate}"): "member",
    ("GET", "/api/v1/me/plate-transfers"): "member",
    ("GET", "/api/v1/me/vehicles"): "member",
    ("POST", "/api/v1/me/vehicles"): "member",
    ("PATCH", "/api/v1/me/vehicles/{vehicle_id}"): "member",
    ("DELETE", "/api/v1/me/vehicles/{vehicle_id}"): "member",
    ("GET", "/api/v1/me/member-code"): "member",
    ("GET", "/api/v1/me/export"): "member",
    ("GET", "/api/v1/members/{member_id}/points"): "staff:members:read",
    ("GET", "/api/v1/members/{member_id}/ledger"): "staff:members:read",
    ("GET", "/api/v1/me/points"): "member",
    ("GET", "/api/v1/me/ledger"): "member",
    ("POST", "/api/v1/members/{member_id}/point-adjustments"): "staff:points:adjust",
    ("GET", "/api/v1/point-adjustments"): "staff:points:approve",
    ("POST", "/api/v1/point-adjustments/{adjustment_id}/approve"): "staff:points:approve",
    ("POST", "/api/v1/point-adjustments/{adjustment_id}/reject"): "staff:points:approve",
    ("GET", "/api/v1/tiers"): "staff:members:read",
    ("GET", "/api/v1/tier-program"): "staff:members:read",
    ("PATCH", "/api/v1/tier-program"): "staff:tiers:manage",
    ("GET", "/api/v1/members/{member_id}/tier"): "staff:members:read",
    ("PUT", "/api/v1/members/{member_id}/tier"): "staff:tiers:manage",
    ("GET", "/api/v1/me/tier"): "member",
    ("GET", "/api/v1/reports/points-liability"): "staff:reports:finance",
    ("GET", "/api/v1/member-imports/{import_id}/errors.csv"): "staff:members:import",
    ("POST", "/api/v1/pos/quote"): "device",
    ("POST", "/api/v1/pos/transactions"): "device",
    ("GET", "/api/v1/pos/transactions/{transaction_id}"): "device",
    ("POST", "/api/v1/pos/transactions/{transaction_id}/refund"): "device",
    ("POST", "/api/v1/pos/authorizations"): "device",
    ("GET", "/api/v1/pos/authorizations/{authorization_id}"): "device",
    ("POST", "/api/v1/pos/authorizations/{authorization_id}/complete"): "device",
    ("POST", "/api/v1/pos/authorizations/{authorization_id}/cancel"): "device",
    ("GET", "/api/v1/rules"): "staff:rules:read",
    ("POST", "/api/v1/rules"): "staff:rules:manage",
    ("GET", "/api/v1/rules/export"): "staff:rules:manage",
    ("POST", "/api/v1/rules/import"): "staff:rules:manage",
    ("GET", "/api/v1/rules/{code}"): "staff:rules:read",
    ("GET", "/api/v1/rules/{code}/versions"): "staff:rules:read",
    ("PUT", "/api/v1/rules/{code}"): "staff:rules:manage",
    ("POST", "/api/v1/rules/{code}/retire"): "staff:rules:manage",
    ("POST", "/api/v1/rules/preview"): "staff:rules:read",
    ("POST", "/api/v1/rules/backtest"): "staff:rules:read",
    ("GET", "/api/v1/coupon-templates"): "staff:coupons:read",
    ("POST", "/api/v1/coupon-templates"): "staff:coupons:manage",
    ("GET", "/api/v1/coupon-templates/{code}"): "staff:coupons:read",
    ("PATCH", "/api/v1/coupon-templates/{code}"): "staff:coupons:manage",
    ("POST", "/api/v1/coupon-templates/{code}/batches"): "staff:coupons:manage",
    ("POST", "/api/v1/coupon-templates/{code}/issue"): "staff:coupons:manage",
    ("GET", "/api/v1/coupon-batches/{batch_id}"): "staff:coupons:read",
    ("GET", "/api/v1/coupon-batches/{batch_id}/codes.csv"): "staff:coupons:manage",
    ("GET", "/api/v1/coupon-packs/{code}"): "staff:coupons:read",
    ("PUT", "/api/v1/coupon-packs/{code}"): "staff:coupons:manage",
    ("GET", "/api/v1/coupon-reports/funnel"): "staff:coupons:read",
    ("GET", "/api/v1/coupon-reports/funding"): "staff:coupons:read",
    ("POST", "/api/v1/coupons/verify"): "staff:coupons:verify",
    ("POST", "/api/v1/partner/coupons/verify"): "staff:coupons:partner_verify",
    ("POST", "/api/v1/pos/coupons/verify"): "device",
    ("POST", "/api/v1/members/{member_id}/wallet/top-ups"): "staff:wallet:top_up",
    ("GET", "/api/v1/members/{member_id}/wallet"): "staff:members:read",
    ("GET", "/api/v1/me/wallet"): "member",
    ("GET", "/api/v1/wallet/bonus-tiers"): "staff:wallet:manage",
    ("PUT", "/api/v1/wallet/bonus-tiers"): "staff:wallet:manage",
    ("POST", "/api/v1/me/wallet/top-up-intents"): "member",
    ("GET", "/api/v1/me/wallet/top-up-intents/{intent_id}"): "member",
    ("POST", "/api/v1/me/wallet/top-up-intents/{intent_id}/sandbox-pay"): "member",
    ("POST", "/api/v1/payments/notify/{provider}"): "public",
    ("POST", "/api/v1/payments/intents/{intent_id}/refund"): "staff:payments:refund",
    ("GET", "/api/v1/payments/intents"): "staff:payments:read",
    ("GET", "/api/v1/risk/decisions"): "staff:risk:review",
    ("POST", "/api/v1/risk/decisions/{decision_id}/review"): "staff:risk:review",
    ("GET", "/api/v1/risk/rules"): "staff:risk:review",
    ("PUT", "/api/v1/risk/rules/{code}"): "staff:risk:manage",
    ("POST", "/api/v1/recharge-cards/batches"): "staff:recharge_cards:manage",
    ("GET", "/api/v1/recharge-cards/batches/{batch_id}"): "staff:recharge_cards:manage",
    ("GET", "/api/v1/recharge-cards/batches/{batch_id}/cards.csv"): "staff:recharge_cards:manage",
    ("POST", "/api/v1/recharge-cards/{code}/activate"): "staff:recharge_cards:activate",
    ("POST", "/api/v1/recharge-cards/batches/{batch_id}/reprint"): "staff:recharge_cards:manage",
    ("POST", "/api/v1/recharge-cards/{code}/void"): "staff:recharge_cards:manage",
    ("POST", "/api/v1/me/recharge-cards/redeem"): "member",
    ("POST", "/api/v1/me/devices/step-up"): "member",
    ("POST", "/api/v1/me/devices/verify"): "member",
    ("POST", "/api/v1/reconciliation/statements"): "staff:reconciliation:manage",
    ("GET", "/api/v1/reconciliation/items"): "staff:reconciliation:manage",
    ("POST", "/api/v1/reconciliation/items/{item_id}/resolve"): "staff:reconciliation:manage",
    ("GET", "/api/v1/reconciliation/summary"): "staff:reconciliation:manage",
    ("POST", "/api/v1/me/invoices"): "member",
    ("GET", "/api/v1/me/invoices"): "member",
    ("GET", "/api/v1/me/invoices/uninvoiced"): "member",
    ("POST", "/api/v1/me/invoices/{invoice_id}/cancel"): "member",
    ("GET", "/api/v1/invoices"): "staff:invoices:manage",
    ("POST", "/api/v1/invoices/{invoice_id}/issue"): "staff:invoices:manage",
    ("POST", "/api/v1/invoices/{invoice_id}/retry"): "staff:invoices:manage",
    ("GET", "/api/v1/finance/funds-flow"): "staff:reports:finance",
    ("GET", "/api/v1/finance/funds-flow.xlsx"): "staff:reports:finance",
    ("POST", "/api/v1/members/{member_id}/wallet/fuel-credit"): "staff:wallet:manage",
    ("GET", "/api/v1/members/{member_id}/wallet/fuel-credit"): "staff:members:read",
    ("GET", "/api/v1/me/wallet/fuel-credit"): "member",
    ("GET", "/api/v1/me/coupons"): "member",
    ("GET", "/api/v1/me/coupon-centre"): "member",
    ("POST", "/api/v1/me/coupons/claim"): "member",
    ("POST", "/api/v1/me/coupons/redeem-code"): "member",
    ("POST", "/api/v1/me/coupons/exchange"): "member",
    ("POST", "/api/v1/me/check-ins"): "member",
}

FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _policies(dependant: Any) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        policy = getattr(sub.call, "policy", None)
        if policy is not None:
            found.append(policy)
        found.extend(_policies(sub))
    return found


def _declared(app: Any) -> dict[tuple[str, str], list[str]]:
    declared = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if context.path in FRAMEWORK_ROUTES or is_web_path(context.path):
            continue  # console pages: tests/web/test_console_access.py
        assert isinstance(route, APIRoute), f"{context.path} is not an API route"
        for method in route.methods:
            declared[(method, context.path)] = _policies(route.dependant)
    return declared


def test_every_route_declares_exactly_the_expected_access(app):
    declared = _declared(app)
    undeclared = sorted(key for key, policies in declared.items() if len(policies) != 1)
    assert not undeclared, f"routes without exactly one access declaration: {undeclared}"
    actual = {key: policies[0] for key, policies in declared.items()}
    assert actual == EXPECTED


def _openapi_operations(app: Any) -> list[tuple[str, str]]:
    operations = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            operations.append((method.upper(), path))
    return sorted(operations)


def _concrete(path: str) -> str:
    nobody = "01a20000-0000-7000-8000-000000000000"
    samples = {
        "staff_id": nobody,
        "member_id": nobody,
        "vehicle_id": nobody,
        "transfer_id": nobody,
        "adjustment_id": nobody,
        "code": "NOPE",
        "device_id": "dev_nope",
        "intent_id": nobody,
        "provider": "sandbox",
    }
    return re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)


def _expected_allowed(policy: str, role: Role | None) -> bool:
    if policy == "public":
        return True
    if role is None or not policy.startswith("staff:"):
        return False
    required = policy.removeprefix("staff:")
    return required == "*" or required in {str(p) for p in ROLE_PERMISSIONS[role]}


def test_openapi_lists_every_route(app):
    assert set(_openapi_operations(app)) == set(EXPECTED)


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_each_role_gets_exactly_its_permissions_on_every_route(client, app, staff, role):
    headers = staff(role).headers if role else {}
    wrong = []
    for method, path in _openapi_operations(app):
        if path == "/api/v1/auth/logout":
            continue  # would end this role's session for the routes after it; covered in test_login
        policy = EXPECTED[(method, path)]
        response = client.request(
            method, _concrete(path), headers=headers, json={} if method != "GET" else None
        )
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        code = body["error"]["code"] if isinstance(body, dict) and "error" in body else None
        if _expected_allowed(policy, role):
            if response.status_code in (401, 403) and code != "station_out_of_scope":
                wrong.append((method, path, response.status_code, code, "should be allowed"))
        elif role is None or policy in ("device", "member"):
            if response.status_code != 401:
                wrong.append((method, path, response.status_code, code, "should be 401"))
        elif response.status_code != 403 or code != "permission_denied":
            wrong.append((method, path, response.status_code, code, "should be 403 permission_denied"))
    assert not wrong
