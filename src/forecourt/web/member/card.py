"""Member H5 home: card with the rotating QR code, points, what expires soon, tier progress."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/m")
