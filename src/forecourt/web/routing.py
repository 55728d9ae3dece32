"""The router every console page hangs on: the API's transactional route (one request = one
transaction, GET read-only), the CSRF check on unsafe methods, and no OpenAPI entry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from forecourt.db.session import api_router
from forecourt.web.security import check_csrf


def web_router(**options: Any) -> APIRouter:
    dependencies = [Depends(check_csrf), *options.pop("dependencies", [])]
    return api_router(include_in_schema=False, dependencies=dependencies, **options)
