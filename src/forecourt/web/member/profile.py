"""Member H5 profile, plates and vehicles, privacy (export, delete account)."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/m")
