"""Admin coupon pages: templates, batches, funnel."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/admin")
