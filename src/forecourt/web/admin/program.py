"""Admin program pages: tiers, earning rules with preview and back-test."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/admin")
