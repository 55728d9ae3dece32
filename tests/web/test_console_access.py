"""Every console page declares who may open it, with the API's permissions, and each role sees
exactly the pages its permissions allow (the console twin of tests/auth/test_route_permissions.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from forecourt.auth.permissions import ROLE_PERMISSIONS, Role
from forecourt.web.access import MemberPageAccess, PublicPage, StaffPageAccess
from forecourt.web.security import is_web_path
from tests.fixtures.builders import StaffLogin
from tests.web.support import sign_in

Access = StaffPageAccess | MemberPageAccess | PublicPage


def _console_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and is_web_path(context.path):
            yield context.path, route


def _accesses(route: APIRoute) -> list[Access]:
    found: list[Access] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, StaffPageAccess | MemberPageAccess | PublicPage):
            found.append(dependency.call)
        pending.extend(dependency.dependencies)
    return found


def test_every_console_route_declares_exactly_one_access(app: FastAPI) -> None:
    routes = list(_console_routes(app))
    assert routes
    for path, route in routes:
        policies = [access.policy for access in _accesses(route)]
        assert len(policies) == 1, f"{sorted(route.methods)} {path} declares {policies or 'no access'}"


def test_console_routes_stay_out_of_the_api_documentation(app: FastAPI) -> None:
    assert all(not route.include_in_schema for _path, route in _console_routes(app))
    assert not any(is_web_path(path) for path in app.openapi()["paths"])


@pytest.mark.parametrize("role", list(Role))
def test_each_role_opens_exactly_the_pages_its_permissions_allow(
    role: Role, app: FastAPI, client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    sign_in(client, staff(role), console="admin")
    allowed = {str(p) for p in ROLE_PERMISSIONS[role]}
    checked = 0
    for path, route in _console_routes(app):
        if "GET" not in route.methods or "{" in path:
            continue
        accesses = _accesses(route)
        if len(accesses) != 1 or not isinstance(accesses[0], StaffPageAccess):
            continue
        permission = accesses[0].permission
        response = client.get(path, follow_redirects=False)
        checked += 1
        if permission is not None and str(permission) not in allowed:
            assert response.status_code == 403, f"{role} opened {path}"
            assert 'data-error-code="permission_denied"' in response.text
        else:
            assert response.status_code < 500, f"{role} broke {path}: {response.status_code}"
            assert response.status_code != 403, f"{role} refused {path}"
    assert checked
