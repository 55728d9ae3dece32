"""What a fapiao may cover (SPEC W6). Pure.

A sale's invoiceable amount is what the member actually paid for its **fuel** lines with money that
counts as paid: the external payment plus wallet principal. Discounts (tier, coupons, points) were
never paid, and the wallet's bonus part was the chain's gift, so neither is invoiced. Each fuel
line's ``paid_fen`` (net of every discount, less its share of wallet bonus) is exactly that; a
refund takes back ``half_up(paid × refunded share)`` of it, the same cumulative rule the POS refunds
use, so what is left is exact to the fen however the refunds were split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from forecourt.kit.money import half_up

THRESHOLD_FEN = 20_000
"""¥200 of uninvoiced fuel: the member is reminded to ask for a fapiao (SPEC W6, A2)."""

INVOICEABLE_SALE_STATUSES = ("completed", "partially_refunded")
"""A fully refunded sale has nothing left to invoice."""

REQUESTED = "requested"
ISSUED = "issued"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (REQUESTED, ISSUED, FAILED, CANCELLED)

CANCELLABLE = frozenset({REQUESTED, FAILED})
"""The member may withdraw a request until it is issued."""
ISSUABLE = frozenset({REQUESTED})
RETRYABLE = frozenset({FAILED})


@dataclass(frozen=True)
class FuelLine:
    paid_fen: int
    liters: Decimal
    refunded_liters: Decimal


def line_invoiceable(line: FuelLine) -> int:
    if line.liters <= 0:
        return 0
    refunded = half_up(Decimal(line.paid_fen) * line.refunded_liters / line.liters)
    return max(0, line.paid_fen - refunded)


def invoiceable_fen(lines: Iterable[FuelLine]) -> int:
    """The fuel a sale's fapiao may cover, after refunds."""
    return sum(line_invoiceable(line) for line in lines)
