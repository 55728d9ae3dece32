"""The funds-flow report as JSON (SPEC W7)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowFigures(Strict):
    top_ups_fen: int
    top_up_refunds_fen: int
    bonus_given_fen: int
    bonus_taken_back_fen: int
    wallet_spent_fen: int
    bonus_spent_fen: int
    wallet_refunds_fen: int
    bonus_refunded_fen: int
    expired_fen: int
    other_fen: int
    external_paid_fen: int
    external_refunded_fen: int


class FlowRowRead(FlowFigures):
    day: date
    station: str | None
    """None: not at a station (online top-ups, head office)."""
    method: str
    """The payment method: ``wallet`` for wallet spending and refunds, the top-up's or the sale
    payment's method otherwise."""


class DayRead(FlowFigures):
    day: date


class MethodRead(FlowFigures):
    method: str


class FundsFlowRead(Strict):
    date_from: date
    date_to: date
    station: str | None
    time_zone: str
    rows: list[FlowRowRead]
    """Per chain-time day, station and method."""
    by_day: list[DayRead]
    by_method: list[MethodRead]
    totals: FlowFigures
