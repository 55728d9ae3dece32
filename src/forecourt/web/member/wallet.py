"""Member H5 wallet and top-up (sandbox payment)."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/m")
