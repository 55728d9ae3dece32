"""Chinese plates: every kind recognised, written any way a person types it, and the rest refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecourt.members.errors import InvalidPlate
from forecourt.members.plates import PlateKind, mask_plate, normalise_plate, parse_plate


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("云A12345", "云A12345", PlateKind.REGULAR),
        ("云AD12345", "云AD12345", PlateKind.NEW_ENERGY),
        ("云AFA1234", "云AFA1234", PlateKind.NEW_ENERGY),
        ("云A12345D", "云A12345D", PlateKind.NEW_ENERGY),
        ("云A1234挂", "云A1234挂", PlateKind.TRAILER),
        ("云A1234学", "云A1234学", PlateKind.COACH),
        ("云A1234警", "云A1234警", PlateKind.POLICE),
        ("粤Z1234港", "粤Z1234港", PlateKind.HONG_KONG),
        ("粤Z1234澳", "粤Z1234澳", PlateKind.MACAU),
        ("沪A1234领", "沪A1234领", PlateKind.CONSULATE),
        ("使014578", "使014578", PlateKind.EMBASSY),
        (" 云a·12345 ", "云A12345", PlateKind.REGULAR),
        ("云 A-123 45", "云A12345", PlateKind.REGULAR),
        ("云Ａ１２３４５", "云A12345", PlateKind.REGULAR),
        ("京ad.12345", "京AD12345", PlateKind.NEW_ENERGY),
    ],
)
def test_plates_of_every_kind_are_recognised_and_normalised(raw, number, kind):
    plate = parse_plate(raw)
    assert (plate.number, plate.kind) == (number, kind)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "云A1234",
        "云A123456",
        "港A12345",
        "云AI2345",
        "云AO2345",
        "云112345",
        "云A1234港",
        "A12345",
        "云AD1234X",
        "使01457",
    ],
)
def test_everything_else_is_an_invalid_plate(raw):
    with pytest.raises(InvalidPlate) as error:
        parse_plate(raw)
    assert error.value.code == "invalid_plate"


def test_masking_keeps_the_region_and_the_last_two_characters():
    assert mask_plate("云A12345") == "云A***45"
    assert mask_plate("云AD12345") == "云A****45"


@given(st.text(max_size=12))
def test_normalising_twice_changes_nothing(raw):
    once = normalise_plate(raw)
    assert normalise_plate(once) == once


@given(
    st.sampled_from("京沪云粤川"),
    st.sampled_from("ABCDEFGHJK"),
    st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=5),
)
def test_a_valid_plate_parses_back_to_itself(province, letter, serial):
    plate = parse_plate(province + letter + serial)
    assert parse_plate(plate.number) == plate
