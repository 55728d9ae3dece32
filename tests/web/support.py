"""Driving the consoles through the test client: CSRF tokens, staff sign-in, htmx requests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.fixtures.builders import PASSWORD, StaffLogin

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(client: TestClient, page: str = "/") -> str:
    """The session's CSRF token, as a page shows it."""
    found = _CSRF_META.search(client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def sign_in(client: TestClient, login: StaffLogin, console: str = "admin") -> None:
    """Sign a staff member in through the console's form (their token then lives in the cookie)."""
    response = client.post(
        f"/{console}/login",
        data={"username": login.user.username, "password": PASSWORD, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, **options: Any) -> Response:
    """A form post with the session's CSRF token."""
    fields = {"csrf_token": csrf_of(client), **(data or {})}
    return client.post(path, data=fields, **options)


def htmx(client: TestClient, method: str, path: str, data: dict[str, Any] | None = None) -> Response:
    """A request as htmx sends it: ``HX-Request`` and the CSRF header."""
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(client)}
    return client.request(method, path, data=data, headers=headers)
