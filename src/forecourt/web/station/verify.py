"""Station console: verify (核销) a voucher."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/station")
