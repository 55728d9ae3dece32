"""Admin stations and prices (with history)."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/admin")
