"""Pure rules about stations and prices (no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class GradeSpec:
    code: str
    name: str
    fuel_type: str
    unit: str
    min_price_fen: int
    max_price_fen: int
    sort_order: int


DEFAULT_GRADES: tuple[GradeSpec, ...] = (
    GradeSpec("92", "92#汽油", "gasoline", "L", 100, 3000, 10),
    GradeSpec("95", "95#汽油", "gasoline", "L", 100, 3000, 20),
    GradeSpec("98", "98#汽油", "gasoline", "L", 100, 3000, 30),
    GradeSpec("0", "0#柴油", "diesel", "L", 100, 3000, 40),
    GradeSpec("lng", "LNG 液化天然气", "gas", "kg", 100, 3000, 50),
    GradeSpec("cng", "CNG 压缩天然气", "gas", "kg", 100, 3000, 60),
    GradeSpec("ev", "电动汽车充电", "electric", "kWh", 10, 1000, 70),
)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")

# Mainland China, Hong Kong, Macau and Taiwan, generously: GCJ-02 coordinates outside are a typo.
_LAT_RANGE = (Decimal("3.8"), Decimal("53.6"))
_LNG_RANGE = (Decimal("73.4"), Decimal("135.1"))
_COORDINATE_PLACES = Decimal("0.000001")


def normalise_code(code: str) -> str | None:
    """Upper-case a station or region code; None when it is not one (letters, digits, - and _)."""
    candidate = code.strip().upper()
    return candidate if _CODE.match(candidate) else None


def coordinate(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(_COORDINATE_PLACES, rounding=ROUND_HALF_UP)


def coordinates_problem(lat: Decimal | None, lng: Decimal | None) -> str | None:
    if (lat is None) != (lng is None):
        return "give both lat and lng, or neither"
    if lat is None or lng is None:
        return None
    if not _LAT_RANGE[0] <= lat <= _LAT_RANGE[1] or not _LNG_RANGE[0] <= lng <= _LNG_RANGE[1]:
        return "the coordinates are outside China (GCJ-02 latitude 3.8–53.6, longitude 73.4–135.1)"
    return None


def hours_problem(opens_at: time | None, closes_at: time | None) -> str | None:
    if (opens_at is None) != (closes_at is None):
        return "give both opens_at and closes_at, or neither for a 24-hour station"
    if opens_at is not None and opens_at == closes_at:
        return "opens_at and closes_at are equal; leave both empty for a 24-hour station"
    return None


def within_hours(local: datetime, opens_at: time | None, closes_at: time | None) -> bool:
    """Whether a local time falls in business hours; closing after midnight is allowed (22:00–02:00)."""
    if opens_at is None or closes_at is None:
        return True
    now = local.time()
    if opens_at < closes_at:
        return opens_at <= now < closes_at
    return now >= opens_at or now < closes_at


def price_problem(price_fen: int, min_price_fen: int, max_price_fen: int) -> str | None:
    if not min_price_fen <= price_fen <= max_price_fen:
        return f"a price per unit of this grade lies between {min_price_fen} and {max_price_fen} fen"
    return None
