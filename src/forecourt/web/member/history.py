"""Member H5 history: sales and points."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/m")
