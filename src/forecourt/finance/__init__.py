"""Finance reports: the funds flow of wallet money and sale payments (SPEC W7)."""

from __future__ import annotations

from forecourt.finance.service import funds_flow

__all__ = ["funds_flow"]
