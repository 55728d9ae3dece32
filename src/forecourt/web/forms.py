"""Reading what people type into console forms: yuan, litres, chain-time moments.

Bad input is an ``InvalidRequest`` with a message the page shows; nothing is changed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from forecourt.errors import InvalidRequest
from forecourt.kit.clock import chain_zone
from forecourt.web.i18n import N_, gettext

BAD_MONEY = N_("Amounts are in yuan with at most two decimals, e.g. 200 or 35.50.")
BAD_NUMBER = N_("Litres and quantities must be positive numbers.")
BAD_MOMENT = N_("That is not a date and time.")
_MOST_YUAN = Decimal(10_000_000)


def fen_or_none(text: str | None, field: str = "amount") -> int | None:
    """Yuan as typed (``35.5``, ``¥8.15``, ``1,200``) in integer fen; blank → None. Negative amounts
    and more than two decimals are refused."""
    cleaned = (text or "").strip().replace("¥", "").replace(",", "").replace("，", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidRequest(gettext(BAD_MONEY), field=field) from None
    if not value.is_finite() or value < 0 or value > _MOST_YUAN or value != value.quantize(Decimal("0.01")):
        raise InvalidRequest(gettext(BAD_MONEY), field=field)
    return int(value * 100)


def fen_of(text: str | None, field: str = "price") -> int:
    """Like ``fen_or_none``, but the amount is required."""
    fen = fen_or_none(text, field)
    if fen is None:
        raise InvalidRequest(gettext(BAD_MONEY), field=field)
    return fen


def positive_decimal(text: str | None) -> Decimal | None:
    """A positive number as typed (litres, quantities); blank → None."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidRequest(gettext(BAD_NUMBER)) from None
    if not value.is_finite() or value <= 0:
        raise InvalidRequest(gettext(BAD_NUMBER))
    return value


def chain_moment(text: str | None) -> datetime | None:
    """A ``datetime-local`` input, read in the chain's time zone, as an aware moment (blank → None)."""
    if text is None or not text.strip():
        return None
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidRequest(gettext(BAD_MOMENT), value=text) from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=chain_zone())
    return local
