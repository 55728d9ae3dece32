"""Station console, manager pages: prices, open/closed, the shift's sales report."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/station")
