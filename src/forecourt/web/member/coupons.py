"""Member H5 coupon centre: my coupons, claim, member day."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/m")
