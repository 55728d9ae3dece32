"""Stored value arithmetic (SPEC W1). Pure.

A wallet holds **principal** (money the member paid in) and **bonus** (the chain's gift on a
top-up, ¥500 → +¥50). Policy: a payment takes principal first, then bonus — the member's own money
goes first, so the points earned on it (principal counts as paid, bonus does not, SPEC §5) are the
most they can be, and a refund of the top-up's principal never strands bonus the member was
promised. Refunds give back along the same split, cumulatively exact over partial refunds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BonusTier:
    """Top up at least ``min_fen``, get ``bonus_fen`` on top."""

    min_fen: int
    bonus_fen: int


def bonus_for(tiers: Sequence[BonusTier], amount_fen: int) -> int:
    """The bonus of the highest tier the top-up reaches (0 below the lowest)."""
    reached = [tier.bonus_fen for tier in tiers if amount_fen >= tier.min_fen]
    return max(reached, default=0)


@dataclass(frozen=True)
class WalletSplit:
    principal_fen: int
    bonus_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


def pay(principal_fen: int, bonus_fen: int, amount_fen: int) -> WalletSplit:
    """What the wallet pays of ``amount_fen``: principal first, then bonus, never more than held."""
    from_principal = min(max(principal_fen, 0), amount_fen)
    from_bonus = min(max(bonus_fen, 0), amount_fen - from_principal)
    return WalletSplit(from_principal, from_bonus)
