"""Pure rules of the stations context (forecourt.stations.domain): codes, coordinates, hours, prices."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from forecourt.stations import domain

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- codes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("S001", "S001"),
        ("s001", "S001"),
        ("  km-north_2 ", "KM-NORTH_2"),
        ("0", "0"),
        ("A" * 32, "A" * 32),
    ],
)
def test_a_station_code_is_trimmed_and_upper_cased(given, expected):
    assert domain.normalise_code(given) == expected


@pytest.mark.parametrize(
    "given", ["", "   ", "S 001", "-S001", "_S", "站001", "S001!", "S/1", "A" * 33, "S.1"]
)
def test_a_station_code_with_other_characters_or_too_long_is_not_one(given):
    assert domain.normalise_code(given) is None


# --- coordinates --------------------------------------------------------------------------------------


def test_no_coordinate_stays_none():
    assert domain.coordinate(None) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (25.04, Decimal("25.040000")),
        (102.7129, Decimal("102.712900")),
        (Decimal("25.0000005"), Decimal("25.000001")),  # half-up, not banker's rounding
        (Decimal("25.0000015"), Decimal("25.000002")),
        (Decimal("25.0000004"), Decimal("25.000000")),
        (0.1, Decimal("0.100000")),  # through str(), so no binary-float noise
    ],
)
def test_a_coordinate_is_kept_to_six_places_rounded_half_up(given, expected):
    assert domain.coordinate(given) == expected


def test_a_coordinate_is_a_decimal_with_six_places():
    assert domain.coordinate(25.04).as_tuple().exponent == -6


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        (None, None),
        (Decimal("25.04"), Decimal("102.71")),  # Kunming
        (Decimal("39.9"), Decimal("116.4")),  # Beijing
        (Decimal("22.3"), Decimal("114.17")),  # Hong Kong
        (Decimal("3.8"), Decimal("73.4")),  # the corners are inside
        (Decimal("53.6"), Decimal("135.1")),
    ],
)
def test_coordinates_in_china_or_none_at_all_are_fine(lat, lng):
    assert domain.coordinates_problem(lat, lng) is None


@pytest.mark.parametrize(("lat", "lng"), [(Decimal("25.04"), None), (None, Decimal("102.71"))])
def test_half_a_coordinate_pair_is_a_problem(lat, lng):
    assert domain.coordinates_problem(lat, lng) == "give both lat and lng, or neither"


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        (Decimal("0"), Decimal("0")),
        (Decimal("3.799999"), Decimal("100")),
        (Decimal("53.600001"), Decimal("100")),
        (Decimal("30"), Decimal("73.399999")),
        (Decimal("30"), Decimal("135.100001")),
        (Decimal("102.71"), Decimal("25.04")),  # swapped
        (Decimal("-25.04"), Decimal("102.71")),
    ],
)
def test_coordinates_outside_china_are_a_problem(lat, lng):
    problem = domain.coordinates_problem(lat, lng)
    assert problem is not None
    assert "outside China" in problem


# --- business hours -----------------------------------------------------------------------------------


def test_no_hours_means_a_24_hour_station():
    assert domain.hours_problem(None, None) is None


def test_hours_that_cross_midnight_are_fine():
    assert domain.hours_problem(time(22, 0), time(2, 0)) is None


@pytest.mark.parametrize(("opens_at", "closes_at"), [(time(6, 0), None), (None, time(22, 0))])
def test_half_the_hours_are_a_problem(opens_at, closes_at):
    assert "both opens_at and closes_at" in (domain.hours_problem(opens_at, closes_at) or "")


def test_equal_opening_and_closing_times_are_a_problem():
    assert "equal" in (domain.hours_problem(time(6, 0), time(6, 0)) or "")


def _local(hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2025, 3, 4, hour, minute, second, micro, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("local", "within"),
    [
        (_local(0, 0), True),
        (_local(12, 0), True),
        (_local(23, 59, 59, 999999), True),
    ],
)
def test_a_station_without_hours_is_always_within_them(local, within):
    assert domain.within_hours(local, None, None) is within


def test_a_station_with_only_one_of_its_hours_is_treated_as_always_open():
    assert domain.within_hours(_local(3, 0), time(6, 0), None) is True
    assert domain.within_hours(_local(3, 0), None, time(22, 0)) is True


@pytest.mark.parametrize(
    ("local", "within"),
    [
        (_local(5, 59, 59, 999999), False),
        (_local(6, 0), True),  # opening time is inside
        (_local(13, 30), True),
        (_local(21, 59, 59, 999999), True),
        (_local(22, 0), False),  # closing time is outside
        (_local(23, 30), False),
        (_local(0, 0), False),
    ],
)
def test_daytime_hours_include_the_opening_and_exclude_the_closing_minute(local, within):
    assert domain.within_hours(local, time(6, 0), time(22, 0)) is within


@pytest.mark.parametrize(
    ("local", "within"),
    [
        (_local(21, 59), False),
        (_local(22, 0), True),
        (_local(23, 59, 59), True),
        (_local(0, 0), True),
        (_local(1, 59, 59, 999999), True),
        (_local(2, 0), False),
        (_local(12, 0), False),
    ],
)
def test_hours_that_cross_midnight_cover_the_late_evening_and_the_small_hours(local, within):
    assert domain.within_hours(local, time(22, 0), time(2, 0)) is within


def test_hours_ending_at_midnight_cover_the_evening():
    assert domain.within_hours(_local(23, 59), time(6, 0), time(0, 0)) is True
    assert domain.within_hours(_local(0, 0), time(6, 0), time(0, 0)) is False
    assert domain.within_hours(_local(5, 59), time(6, 0), time(0, 0)) is False


def test_within_hours_reads_the_wall_clock_of_the_moment_it_is_given():
    # 14:00 in Kunming: the caller converts to chain time; the rule looks at the local wall clock.
    assert domain.within_hours(_local(14, 0), time(6, 0), time(22, 0)) is True
    assert domain.within_hours(datetime(2025, 3, 4, 23, 0), time(6, 0), time(22, 0)) is False  # noqa: DTZ001


# --- prices --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("price_fen", [100, 812, 3000])
def test_a_price_inside_the_range_of_its_grade_is_fine(price_fen):
    assert domain.price_problem(price_fen, 100, 3000) is None


@pytest.mark.parametrize("price_fen", [-812, 0, 99, 3001, 81200])
def test_a_price_outside_the_range_of_its_grade_is_a_problem_naming_the_range(price_fen):
    assert (
        domain.price_problem(price_fen, 100, 3000)
        == "a price per unit of this grade lies between 100 and 3000 fen"
    )


def test_the_default_grades_are_the_grades_of_the_spec():
    codes = [grade.code for grade in domain.DEFAULT_GRADES]
    assert codes == ["92", "95", "98", "0", "lng", "cng", "ev"]


def test_the_default_grades_are_sold_in_their_units_and_ordered_for_display():
    units = {grade.code: grade.unit for grade in domain.DEFAULT_GRADES}
    assert units == {"92": "L", "95": "L", "98": "L", "0": "L", "lng": "kg", "cng": "kg", "ev": "kWh"}
    orders = [grade.sort_order for grade in domain.DEFAULT_GRADES]
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders)


@pytest.mark.parametrize("grade", domain.DEFAULT_GRADES, ids=lambda grade: grade.code)
def test_every_default_grade_has_a_believable_range_that_admits_todays_prices(grade):
    assert 0 < grade.min_price_fen < grade.max_price_fen
    todays = {"L": 800, "kg": 450, "kWh": 150}[grade.unit]  # ≈ 8 yuan/L, 4.5 yuan/kg, 1.5 yuan/kWh
    assert domain.price_problem(todays, grade.min_price_fen, grade.max_price_fen) is None
