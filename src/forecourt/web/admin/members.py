"""Admin member pages: search, masked detail, points, coupons, wallet, tiers, audit trail."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/admin")
