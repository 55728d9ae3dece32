"""The funds-flow arithmetic (SPEC W7). Pure.

Every figure is a positive amount of integer fen, summed per chain-time day, station and method:
the wallet side from ledger entries of asset ``cny`` on member accounts (what moved in or out of
members' principal and bonus), the sale side from the payments of sales and their refunds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

FIGURES = (
    "top_ups_fen",
    "top_up_refunds_fen",
    "bonus_given_fen",
    "bonus_taken_back_fen",
    "wallet_spent_fen",
    "bonus_spent_fen",
    "wallet_refunds_fen",
    "bonus_refunded_fen",
    "expired_fen",
    "other_fen",
    "external_paid_fen",
    "external_refunded_fen",
)
"""The columns of the report, in order.

- top_ups_fen: principal paid into wallets (by the top-up's method);
- top_up_refunds_fen: principal paid back out of wallets for refunded online top-ups (net of
  refunds the provider could not make);
- bonus_given_fen / bonus_taken_back_fen: bonus credited with top-ups / taken back with their refunds;
- wallet_spent_fen / bonus_spent_fen: principal / bonus spent on sales (method ``wallet``);
- wallet_refunds_fen / bonus_refunded_fen: principal / bonus given back to wallets by sale refunds;
- expired_fen: wallet money that expired (postings whose reason mentions expiry);
- other_fen: any other net change of members' wallets (signed; manual corrections);
- external_paid_fen / external_refunded_fen: sales' external payments (cash, cards, WeChat …) and
  the refunds of them.
"""

WALLET_METHOD = "wallet"


@dataclass
class FlowRow:
    day: date
    station: str | None
    method: str
    top_ups_fen: int = 0
    top_up_refunds_fen: int = 0
    bonus_given_fen: int = 0
    bonus_taken_back_fen: int = 0
    wallet_spent_fen: int = 0
    bonus_spent_fen: int = 0
    wallet_refunds_fen: int = 0
    bonus_refunded_fen: int = 0
    expired_fen: int = 0
    other_fen: int = 0
    external_paid_fen: int = 0
    external_refunded_fen: int = 0

    def figures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}


@dataclass
class Totals:
    figures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))

    def add(self, row: FlowRow) -> None:
        for name, amount in row.figures().items():
            self.figures[name] += amount


def sort_key(row: FlowRow) -> tuple[date, str, str]:
    return row.day, row.station or "", row.method


class Book:
    """Rows keyed by (day, station, method), created on first use."""

    def __init__(self) -> None:
        self._rows: dict[tuple[date, str | None, str], FlowRow] = {}

    def add(self, day: date, station: str | None, method: str, figure: str, amount_fen: int) -> None:
        if not amount_fen:
            return
        if figure not in FIGURES:
            raise ValueError(f"unknown figure {figure}")
        key = (day, station, method)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = FlowRow(day, station, method)
        setattr(row, figure, getattr(row, figure) + amount_fen)

    def rows(self) -> list[FlowRow]:
        return sorted(self._rows.values(), key=sort_key)


def wallet_figure(reason: str, purpose: str, amount_fen: int) -> tuple[str, int]:
    """Which column a member-side wallet entry adds to, and how much (positive for the usual
    direction). ``amount_fen`` is the entry's signed amount on the member's account."""
    bonus = purpose == "bonus"
    if reason == "wallet.top_up":
        return ("bonus_given_fen" if bonus else "top_ups_fen"), amount_fen
    if reason == "wallet.sale":
        return ("bonus_spent_fen" if bonus else "wallet_spent_fen"), -amount_fen
    if reason == "wallet.refund":
        return ("bonus_refunded_fen" if bonus else "wallet_refunds_fen"), amount_fen
    if reason.startswith("wallet.top_up_refund"):
        return ("bonus_taken_back_fen" if bonus else "top_up_refunds_fen"), -amount_fen
    if "expir" in reason:
        return "expired_fen", -amount_fen
    return "other_fen", amount_fen


def total(rows: Iterable[FlowRow]) -> dict[str, int]:
    totals = Totals()
    for row in rows:
        totals.add(row)
    return totals.figures
