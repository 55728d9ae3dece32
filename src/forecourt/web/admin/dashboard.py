"""Admin dashboard: members, sales, points, liability and coupon use over time (ECharts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import Response

from forecourt.auth.permissions import Permission
from forecourt.kit.actor import Actor
from forecourt.web.access import staff_page
from forecourt.web.routing import web_router
from forecourt.web.templating import render

router = web_router(prefix="/admin")


@router.get("")
def dashboard(request: Request, actor: Annotated[Actor, staff_page(Permission.MEMBERS_READ)]) -> Response:
    return render(request, "admin/dashboard.html", {"section": "/admin"})
