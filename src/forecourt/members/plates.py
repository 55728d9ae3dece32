"""Chinese licence plates (GA 36-2018): normalised and validated, pure functions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from forecourt.members.errors import InvalidPlate

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
_SERIAL = f"[{_LETTER}0-9]"
_SEPARATORS = re.compile(r"[\s·•・‧∙⋅.\-_]+")


class PlateKind(StrEnum):
    REGULAR = "regular"
    NEW_ENERGY = "new_energy"
    TRAILER = "trailer"
    COACH = "coach"
    POLICE = "police"
    HONG_KONG = "hong_kong"
    MACAU = "macau"
    CONSULATE = "consulate"
    EMBASSY = "embassy"


@dataclass(frozen=True)
class Plate:
    number: str
    kind: PlateKind


_SUFFIXES = {
    "挂": PlateKind.TRAILER,
    "学": PlateKind.COACH,
    "警": PlateKind.POLICE,
    "港": PlateKind.HONG_KONG,
    "澳": PlateKind.MACAU,
    "领": PlateKind.CONSULATE,
}
_PATTERNS: tuple[tuple[re.Pattern[str], PlateKind], ...] = (
    (re.compile(f"[{PROVINCES}][{_LETTER}]{_SERIAL}{{5}}"), PlateKind.REGULAR),
    (re.compile(f"[{PROVINCES}][{_LETTER}][DF]{_SERIAL}[0-9]{{4}}"), PlateKind.NEW_ENERGY),
    (re.compile(f"[{PROVINCES}][{_LETTER}][0-9]{{5}}[DF]"), PlateKind.NEW_ENERGY),
    (re.compile(f"[{PROVINCES}][{_LETTER}]{_SERIAL}{{4}}[挂学警领]"), PlateKind.TRAILER),
    (re.compile(f"粤Z{_SERIAL}{{4}}[港澳]"), PlateKind.HONG_KONG),
    (re.compile("使[0-9]{6}"), PlateKind.EMBASSY),
)


def normalise_plate(raw: str) -> str:
    """Full-width → half-width (NFKC), upper case, no spaces or separators (repeated until stable:
    upper-casing or dropping a separator can make a new composable pair)."""
    text = raw or ""
    for _ in range(4):
        joined = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
        cleaned = unicodedata.normalize("NFKC", joined.upper())
        if cleaned == text:
            break
        text = cleaned
    return text


def _problem(number: str) -> str:
    if not number:
        return "The plate is empty."
    if number[0] not in PROVINCES and number[0] != "使":
        return f"{number[0]!r} is not a province abbreviation."
    if "I" in number or "O" in number:
        return "Plates do not use the letters I and O."
    return "A plate is a province, a letter and 5 characters (6 on new-energy plates)."


def parse_plate(raw: str) -> Plate:
    number = normalise_plate(raw)
    for pattern, kind in _PATTERNS:
        if pattern.fullmatch(number):
            if kind in (PlateKind.TRAILER, PlateKind.HONG_KONG):
                kind = _SUFFIXES[number[-1]]
            return Plate(number=number, kind=kind)
    raise InvalidPlate(_problem(number), plate=raw)


def mask_plate(number: str) -> str:
    """云A12345 → 云A***45: enough to recognise, not enough to track."""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]
