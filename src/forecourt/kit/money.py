"""Money is integer fen; amounts computed from decimals round half-up to the fen (SPEC §3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
