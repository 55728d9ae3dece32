"""Admin finance pages: liability, wallet funds flow, reconciliation queue, adjustment approvals."""

from __future__ import annotations

from forecourt.web.routing import web_router

router = web_router(prefix="/admin")
