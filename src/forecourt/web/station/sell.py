"""Station console: identify a member, build the basket, quote, commit, print the receipt."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/station")
