"""S2: prices per station and grade over time (SPEC §7 PUT /api/v1/stations/{code}/prices), and per region."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from forecourt.db.outbox import OutboxEvent
from forecourt.kit.pagination import encode_cursor
from forecourt.stations import service
from tests.fixtures.builders import make_region, make_station
from tests.stations.support import board, counts, error, parse, put_price

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- setting a price --------------------------------------------------------------------------------


def test_a_price_set_now_is_in_force_immediately(client, admin, session):
    make_station(session, "S001")

    response = put_price(client, admin.headers, "S001", "95", 812)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["grade"] == "95"
    assert body["price_fen"] == 812
    assert body["source"] == "station"
    assert body["recorded_by"] == admin.user.username
    assert parse(body["effective_from"]) <= datetime.now(UTC)
    assert board(client, admin.headers, "S001") == {"95": 812}
    detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()
    assert [(p["grade"], p["price_fen"]) for p in detail["prices"]] == [("95", 812)]
    assert detail["scheduled_prices"] == []


def test_a_new_price_replaces_the_one_in_force_and_other_grades_keep_theirs(client, admin, session):
    make_station(session, "S001", prices={"92": 760, "95": 812, "0": 745})

    put_price(client, admin.headers, "S001", "95", 826)

    assert board(client, admin.headers, "S001") == {"0": 745, "92": 760, "95": 826}


def test_prices_are_per_station(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    make_station(session, "S002", prices={"95": 830})

    put_price(client, admin.headers, "S001", "95", 799)

    assert board(client, admin.headers, "S001") == {"95": 799}
    assert board(client, admin.headers, "S002") == {"95": 830}


def test_every_grade_of_the_spec_takes_a_price_whatever_the_case_of_its_code(client, admin, session):
    make_station(session, "S001")
    given = {"92": 760, "95": 812, "98": 905, "0": 745, "LNG": 450, "Cng": 420, "EV": 150}

    for grade, price_fen in given.items():
        response = put_price(client, admin.headers, "S001", grade, price_fen)
        assert response.status_code == 200, response.text
        assert response.json()["grade"] == grade.lower()

    assert board(client, admin.headers, "S001") == {grade.lower(): price for grade, price in given.items()}


def test_the_station_code_in_the_path_is_case_insensitive(client, admin, session):
    make_station(session, "S001")

    assert put_price(client, admin.headers, "s001", "95", 812).status_code == 200
    assert board(client, admin.headers, "S001") == {"95": 812}


def test_station_manager_sets_prices_at_their_own_station(client, staff, session):
    own = make_station(session, "S001")
    manager = staff("station_manager", station=own)

    response = put_price(client, manager.headers, "S001", "92", 768)

    assert response.status_code == 200, response.text
    assert response.json()["recorded_by"] == manager.user.username
    assert board(client, manager.headers, "S001") == {"92": 768}


def test_station_manager_cannot_set_prices_at_another_station(client, staff, session):
    own = make_station(session, "S001")
    make_station(session, "S002", prices={"95": 830})
    manager = staff("station_manager", station=own)
    before = counts(session)

    response = put_price(client, manager.headers, "S002", "95", 700)

    error(response, 403, "station_out_of_scope")
    assert counts(session) == before
    assert board(client, manager.headers, "S002") == {"95": 830}


def test_attendants_and_head_office_roles_other_than_admin_cannot_set_a_price(client, admin, staff, session):
    station = make_station(session, "S001", prices={"95": 812})
    roles = ["attendant", "marketing", "finance", "service", "agent", "partner"]
    logins = {role: staff(role, station=station) for role in roles}
    before = counts(session)

    for role, login in logins.items():
        error(put_price(client, login.headers, "S001", "95", 700), 403, "permission_denied", role)

    assert counts(session) == before
    assert board(client, admin.headers, "S001") == {"95": 812}


def test_setting_a_price_without_a_token_is_a_401_and_changes_nothing(client, session):
    make_station(session, "S001")
    before = counts(session)

    error(put_price(client, {}, "S001", "95", 812), 401, "token_missing")
    error(put_price(client, {"Authorization": "Bearer forged"}, "S001", "95", 812), 401, "token_invalid")
    assert counts(session) == before


def test_a_price_at_an_unknown_station_is_a_404_and_nothing_is_written(client, admin, session):
    before = counts(session)

    error(put_price(client, admin.headers, "S404", "95", 812), 404, "station_not_found")
    assert counts(session) == before


def test_an_unknown_grade_is_refused_and_the_known_grades_are_named(client, admin, session):
    make_station(session, "S001")
    before = counts(session)

    for grade in ["97", "95#", "diesel", "E10"]:
        details = error(put_price(client, admin.headers, "S001", grade, 812), 400, "unknown_grade", grade)[
            "details"
        ]

        assert details["grade"] == grade
        assert set(details["grades"]) == {"92", "95", "98", "0", "lng", "cng", "ev"}
    assert counts(session) == before


def test_a_negative_zero_or_absurd_price_is_refused_with_the_believable_range(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    before = counts(session)
    refused = [
        ("95", -812, 100, 3000),
        ("95", 0, 100, 3000),
        ("95", 99, 100, 3000),
        ("95", 3001, 100, 3000),
        ("95", 81200, 100, 3000),  # yuan typed as fen ×100
        ("95", 2**62, 100, 3000),
        ("ev", 9, 10, 1000),
        ("ev", 1001, 10, 1000),
    ]

    for grade, price_fen, low, high in refused:
        response = put_price(client, admin.headers, "S001", grade, price_fen)

        details = error(response, 400, "invalid_price", (grade, price_fen))["details"]
        assert details == {
            "grade": grade,
            "price_fen": price_fen,
            "min_price_fen": low,
            "max_price_fen": high,
        }

    assert counts(session) == before
    assert board(client, admin.headers, "S001") == {"95": 812}


def test_prices_at_the_edges_of_the_believable_range_are_accepted(client, admin, session):
    make_station(session, "S001")

    for grade, price_fen in [("95", 100), ("95", 3000), ("ev", 10), ("ev", 1000)]:
        assert put_price(client, admin.headers, "S001", grade, price_fen).status_code == 200, (
            grade,
            price_fen,
        )


def test_a_malformed_price_is_a_422_validation_error_and_nothing_is_written(client, admin, session):
    make_station(session, "S001", prices={"95": 800})
    before = counts(session)
    malformed = [
        {"grade": "95", "price_fen": "812"},
        {"grade": "95", "price_fen": 8.5},
        {"grade": "95", "price_fen": 812.0},
        {"grade": "95", "price_fen": True},
        {"grade": "95", "price_fen": None},
        {"grade": "95"},
        {"price_fen": 812},
        {"grade": 95, "price_fen": 812},
        {"grade": "", "price_fen": 812},
        {"grade": "95", "price_fen": 812, "currency": "CNY"},
        {"grade": "95", "price_fen": 812, "effective_from": "yesterday"},
        {"grade": "95", "price_fen": 812, "effective_from": "2026-11-20T14:00:00"},
        {"grade": "95", "price_fen": 812, "effective_from": "2026-11-20"},
        [{"grade": "95", "price_fen": 812}],
    ]

    for body in malformed:
        response = client.put("/api/v1/stations/S001/prices", json=body, headers=admin.headers)

        error(response, 422, "validation_error", body)
    assert counts(session) == before
    assert board(client, admin.headers, "S001") == {"95": 800}


def test_a_naive_effective_from_is_refused_and_the_error_names_the_field(client, admin, session):
    make_station(session, "S001")

    response = put_price(client, admin.headers, "S001", "95", 812, "2026-11-20T14:00:00")

    problems = error(response, 422, "validation_error")["details"]["errors"]
    assert ["body", "effective_from"] in [problem["loc"] for problem in problems]


def test_malformed_json_for_a_price_is_a_422_and_nothing_is_written(client, admin, session):
    make_station(session, "S001")
    before = counts(session)

    response = client.put(
        "/api/v1/stations/S001/prices",
        content=b'{"grade": "95", "price_fen": 812',
        headers={**admin.headers, "content-type": "application/json"},
    )

    error(response, 422, "malformed_json")
    assert counts(session) == before


def test_a_price_change_is_published_for_other_contexts_with_its_moment(client, admin, session):
    make_station(session, "S001")
    moment = _at(2026, 11, 30, 0, 0)

    put_price(client, admin.headers, "S001", "95", 812, moment)

    events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "station.price_changed")).all()
    assert len(events) == 1
    payload = dict(events[0].payload)
    assert parse(payload.pop("effective_from")) == moment
    assert payload == {"station": "S001", "grade": "95", "price_fen": 812}


# --- scheduled and backdated prices -----------------------------------------------------------------


def test_a_scheduled_price_is_not_in_force_until_its_effective_from(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    now = datetime.now(UTC)
    start = now + timedelta(hours=2)

    response = put_price(client, admin.headers, "S001", "95", 845, start)

    assert response.status_code == 200, response.text
    assert parse(response.json()["effective_from"]) == start
    assert board(client, admin.headers, "S001") == {"95": 812}
    detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()
    assert [(p["grade"], p["price_fen"]) for p in detail["prices"]] == [("95", 812)]
    assert [(p["grade"], p["price_fen"], parse(p["effective_from"])) for p in detail["scheduled_prices"]] == [
        ("95", 845, start)
    ]
    assert board(client, admin.headers, "S001", at=start - timedelta(microseconds=1)) == {"95": 812}
    assert board(client, admin.headers, "S001", at=start) == {"95": 845}

    with time_machine.travel(start - timedelta(seconds=1), tick=False):
        assert board(client, admin.headers, "S001") == {"95": 812}
    with time_machine.travel(start, tick=False):
        assert board(client, admin.headers, "S001") == {"95": 845}
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()
        assert [(p["grade"], p["price_fen"]) for p in detail["prices"]] == [("95", 845)]
        assert detail["scheduled_prices"] == []


def test_a_scheduled_price_for_a_grade_without_a_price_yet_is_not_on_the_board(client, admin, session):
    make_station(session, "S001")
    start = datetime.now(UTC) + timedelta(days=1)

    put_price(client, admin.headers, "S001", "lng", 420, start)

    assert board(client, admin.headers, "S001") == {}
    detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()
    assert [p["grade"] for p in detail["scheduled_prices"]] == ["lng"]


def test_scheduled_prices_are_listed_soonest_first(client, admin, session):
    make_station(session, "S001")
    now = datetime.now(UTC)
    put_price(client, admin.headers, "S001", "95", 850, now + timedelta(days=2))
    put_price(client, admin.headers, "S001", "92", 790, now + timedelta(days=1))
    put_price(client, admin.headers, "S001", "98", 920, now + timedelta(days=1))

    detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()

    assert [(p["grade"], p["price_fen"]) for p in detail["scheduled_prices"]] == [
        ("92", 790),
        ("98", 920),
        ("95", 850),
    ]


def test_a_backdated_price_answers_what_the_95_price_was_last_tuesday_at_14_00(client, admin, session):
    # "Today" is Monday 10 March 2025 in Kunming; last Tuesday is 4 March.
    with time_machine.travel(_at(2025, 3, 10, 10, 0), tick=True):
        make_station(session, "S001")
        put_price(client, admin.headers, "S001", "95", 850)  # today's price
        put_price(client, admin.headers, "S001", "95", 800, "2025-03-01T00:00:00+08:00")
        put_price(client, admin.headers, "S001", "95", 820, "2025-03-04T10:00:00+08:00")
        put_price(client, admin.headers, "S001", "95", 835, "2025-03-04T18:00:00+08:00")

        response = client.get(
            "/api/v1/stations/S001/prices", params={"at": "2025-03-04T14:00:00+08:00"}, headers=admin.headers
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["station"] == "S001"
        assert parse(body["at"]) == _at(2025, 3, 4, 14, 0)
        assert [(p["grade"], p["price_fen"]) for p in body["prices"]] == [("95", 820)]
        assert parse(body["prices"][0]["effective_from"]) == _at(2025, 3, 4, 10, 0)
        # The same moment written in UTC gives the same answer.
        assert board(client, admin.headers, "S001", at=datetime(2025, 3, 4, 6, 0, tzinfo=UTC)) == {"95": 820}
        assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 9, 59, 59)) == {"95": 800}
        assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 10, 0)) == {"95": 820}
        assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 18, 0)) == {"95": 835}
        assert board(client, admin.headers, "S001", at=_at(2025, 2, 28, 23, 59)) == {}
        # Recording the past does not change today's price.
        assert board(client, admin.headers, "S001") == {"95": 850}


def test_the_price_board_at_a_moment_gives_every_grade_in_force_then(client, admin, session):
    make_station(session, "S001")
    put_price(client, admin.headers, "S001", "92", 760, "2025-03-01T00:00:00+08:00")
    put_price(client, admin.headers, "S001", "95", 812, "2025-03-01T00:00:00+08:00")
    put_price(client, admin.headers, "S001", "0", 745, "2025-03-05T00:00:00+08:00")

    assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 14, 0)) == {"92": 760, "95": 812}
    assert board(client, admin.headers, "S001", at=_at(2025, 3, 6, 14, 0)) == {"0": 745, "92": 760, "95": 812}


def test_a_corrected_price_for_the_same_effective_from_wins_over_the_mistake(client, admin, session):
    make_station(session, "S001")
    moment = "2025-03-04T10:00:00+08:00"
    put_price(client, admin.headers, "S001", "95", 800, "2025-03-01T00:00:00+08:00")
    put_price(client, admin.headers, "S001", "95", 280, moment)  # a typo: 2.80 yuan instead of 8.20

    put_price(client, admin.headers, "S001", "95", 820, moment)

    assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 14, 0)) == {"95": 820}
    assert board(client, admin.headers, "S001", at=_at(2025, 3, 4, 9, 0)) == {"95": 800}
    assert board(client, admin.headers, "S001") == {"95": 820}
    # Both decisions are kept (rows are never edited); the correction is listed first.
    history = client.get("/api/v1/stations/S001/prices/history", headers=admin.headers).json()["items"]
    assert [p["price_fen"] for p in history] == [820, 280, 800]


def test_a_corrected_scheduled_price_is_the_only_one_shown_as_scheduled_for_that_moment(
    client, admin, session
):
    make_station(session, "S001", prices={"95": 812})
    start = datetime.now(UTC) + timedelta(days=1)
    put_price(client, admin.headers, "S001", "95", 485, start)  # a typo: 4.85 yuan instead of 8.45
    put_price(client, admin.headers, "S001", "95", 845, start)  # the correction

    detail = client.get("/api/v1/stations/S001", headers=admin.headers).json()

    assert board(client, admin.headers, "S001", at=start) == {"95": 845}
    assert [(p["grade"], p["price_fen"]) for p in detail["scheduled_prices"]] == [("95", 845)]


def test_a_naive_at_is_a_422(client, admin, session):
    make_station(session, "S001")

    response = client.get(
        "/api/v1/stations/S001/prices", params={"at": "2025-03-04T14:00:00"}, headers=admin.headers
    )

    error(response, 422, "validation_error")


def test_the_price_board_of_an_unknown_station_is_a_404(client, admin):
    error(client.get("/api/v1/stations/S404/prices", headers=admin.headers), 404, "station_not_found")


def test_the_price_board_is_readable_by_an_attendant_of_the_station(client, staff, session):
    station = make_station(session, "S001", prices={"95": 812})

    assert board(client, staff("attendant", station=station).headers, "S001") == {"95": 812}


# --- history ----------------------------------------------------------------------------------------


def _history(client, headers, code="S001", **params):
    response = client.get(f"/api/v1/stations/{code}/prices/history", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _record_five_days(client, headers) -> list[int]:
    """95# on 1..5 March 2025 (800, 801, …), 92# on 2 March; returns the 95# prices newest first."""
    for day in range(1, 6):
        put_price(client, headers, "S001", "95", 799 + day, f"2025-03-0{day}T00:00:00+08:00")
    put_price(client, headers, "S001", "92", 760, "2025-03-02T12:00:00+08:00")
    return [804, 803, 802, 801, 800]


def test_price_history_lists_newest_first(client, admin, session):
    make_station(session, "S001")
    _record_five_days(client, admin.headers)

    page = _history(client, admin.headers)

    assert [(p["grade"], p["price_fen"]) for p in page["items"]] == [
        ("95", 804),
        ("95", 803),
        ("95", 802),
        ("92", 760),
        ("95", 801),
        ("95", 800),
    ]
    moments = [parse(p["effective_from"]) for p in page["items"]]
    assert moments == sorted(moments, reverse=True)
    assert page["next_cursor"] is None


def test_price_history_paginates_with_next_cursor_without_gaps_or_repeats(client, admin, session):
    make_station(session, "S001")
    expected = _record_five_days(client, admin.headers)

    first = _history(client, admin.headers, grade="95", limit=2)
    second = _history(client, admin.headers, grade="95", limit=2, cursor=first["next_cursor"])
    third = _history(client, admin.headers, grade="95", limit=2, cursor=second["next_cursor"])

    assert [p["price_fen"] for p in first["items"]] == expected[:2]
    assert [p["price_fen"] for p in second["items"]] == expected[2:4]
    assert [p["price_fen"] for p in third["items"]] == expected[4:]
    assert first["next_cursor"]
    assert second["next_cursor"]
    assert third["next_cursor"] is None


def test_price_history_pages_through_rows_sharing_an_effective_from(client, admin, session):
    make_station(session, "S001")
    for price in (810, 811, 812, 813):
        put_price(client, admin.headers, "S001", "95", price, "2025-03-04T10:00:00+08:00")

    seen, cursor = [], None
    for _ in range(5):
        page = _history(client, admin.headers, limit=1, **({"cursor": cursor} if cursor else {}))
        seen.extend(p["price_fen"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [813, 812, 811, 810]


def test_price_history_filters_by_grade(client, admin, session):
    make_station(session, "S001")
    _record_five_days(client, admin.headers)

    assert [p["price_fen"] for p in _history(client, admin.headers, grade="92")["items"]] == [760]
    assert _history(client, admin.headers, grade="lng")["items"] == []


def test_price_history_is_per_station(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    make_station(session, "S002", prices={"95": 830})

    assert [p["price_fen"] for p in _history(client, admin.headers, "S002")["items"]] == [830]


def test_price_history_with_an_unknown_grade_is_a_400(client, admin, session):
    make_station(session, "S001")
    error(
        client.get("/api/v1/stations/S001/prices/history", params={"grade": "97"}, headers=admin.headers),
        400,
        "unknown_grade",
    )


def test_price_history_of_an_unknown_station_is_a_404(client, admin):
    error(client.get("/api/v1/stations/S404/prices/history", headers=admin.headers), 404, "station_not_found")


def test_a_garbage_history_cursor_is_a_400(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    garbage = [
        "garbage",
        "%%%",
        encode_cursor("S001"),
        encode_cursor("not-a-date", "2025-03-01T00:00:00+00:00", "7"),
        encode_cursor("2025-03-01T00:00:00+00:00", "2025-03-01T00:00:00+00:00", "not-a-uuid"),
    ]

    for cursor in garbage:
        response = client.get(
            "/api/v1/stations/S001/prices/history", params={"cursor": cursor}, headers=admin.headers
        )

        error(response, 400, "invalid_cursor", cursor)


def test_a_tampered_history_cursor_with_naive_times_is_a_400_not_a_server_error(client, admin, session):
    make_station(session, "S001", prices={"95": 812})
    cursor = encode_cursor(
        "2030-01-01T00:00:00", "2030-01-01T00:00:00", "01900000-0000-7000-8000-000000000000"
    )

    response = client.get(
        "/api/v1/stations/S001/prices/history", params={"cursor": cursor}, headers=admin.headers
    )

    error(response, 400, "invalid_cursor")


# --- bulk price change per region ---------------------------------------------------------------------


@pytest.fixture
def two_regions(session):
    """KM: S001, S002, S003; DL: S101; S900 in no region. 95# at 812 everywhere."""
    make_region(session, "KM", "昆明片区")
    make_region(session, "DL", "大理片区")
    for code in ("S001", "S002", "S003"):
        make_station(session, code, region="KM", prices={"95": 812, "92": 760})
    make_station(session, "S101", region="DL", prices={"95": 812, "92": 760})
    make_station(session, "S900", prices={"95": 812, "92": 760})


def _put_region_price(client, headers, region, body):
    return client.put(f"/api/v1/regions/{region}/prices", json=body, headers=headers)


def test_a_region_price_change_sets_the_grade_at_every_station_of_the_region_and_nowhere_else(
    client, admin, two_regions
):
    response = _put_region_price(client, admin.headers, "KM", {"grade": "95", "price_fen": 799})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["region"] == "KM"
    assert body["grade"] == "95"
    assert body["price_fen"] == 799
    assert body["stations"] == ["S001", "S002", "S003"]
    for code in ("S001", "S002", "S003"):
        assert board(client, admin.headers, code) == {"92": 760, "95": 799}
        latest = _history(client, admin.headers, code, grade="95")["items"][0]
        assert latest["source"] == "region"
    for code in ("S101", "S900"):
        assert board(client, admin.headers, code) == {"92": 760, "95": 812}


def test_a_region_price_change_is_one_moment_for_every_station(client, admin, two_regions):
    response = _put_region_price(client, admin.headers, "km", {"grade": "92", "price_fen": 770})

    moments = {
        _history(client, admin.headers, code, grade="92")["items"][0]["effective_from"]
        for code in ("S001", "S002", "S003")
    }
    assert len(moments) == 1
    assert parse(moments.pop()) == parse(response.json()["effective_from"])


def test_a_scheduled_region_price_change_takes_effect_at_its_moment(client, admin, two_regions):
    start = datetime.now(UTC) + timedelta(hours=6)

    response = _put_region_price(
        client, admin.headers, "KM", {"grade": "95", "price_fen": 840, "effective_from": start.isoformat()}
    )

    assert response.status_code == 200, response.text
    assert board(client, admin.headers, "S002") == {"92": 760, "95": 812}
    assert board(client, admin.headers, "S002", at=start) == {"92": 760, "95": 840}
    scheduled = client.get("/api/v1/stations/S002", headers=admin.headers).json()["scheduled_prices"]
    assert [(p["grade"], p["price_fen"], p["source"]) for p in scheduled] == [("95", 840, "region")]


def test_a_station_price_recorded_after_a_region_price_for_the_same_moment_wins(client, admin, two_regions):
    moment = "2026-11-30T00:00:00+08:00"
    _put_region_price(
        client, admin.headers, "KM", {"grade": "95", "price_fen": 840, "effective_from": moment}
    )
    put_price(client, admin.headers, "S002", "95", 835, moment)

    at = _at(2026, 11, 30, 8, 0)
    assert board(client, admin.headers, "S001", at=at)["95"] == 840
    assert board(client, admin.headers, "S002", at=at)["95"] == 835


def test_only_admins_change_a_price_across_a_region(client, staff, session, two_regions):
    own = service.get_station(session, "S001")
    logins = {
        role: staff(role, station=own) for role in ["station_manager", "attendant", "marketing", "finance"]
    }
    before = counts(session)

    for role, login in logins.items():
        response = _put_region_price(client, login.headers, "KM", {"grade": "95", "price_fen": 700})

        error(response, 403, "permission_denied", role)
    assert counts(session) == before


def test_a_region_price_change_in_a_region_without_stations_is_a_400(client, admin, session):
    make_region(session, "EMPTY")
    before = counts(session)

    response = _put_region_price(client, admin.headers, "EMPTY", {"grade": "95", "price_fen": 812})

    assert error(response, 400, "invalid_price")["details"] == {"region": "EMPTY"}
    assert counts(session) == before


def test_a_region_price_change_in_an_unknown_region_is_a_404(client, admin, session):
    before = counts(session)

    error(
        _put_region_price(client, admin.headers, "NOWHERE", {"grade": "95", "price_fen": 812}),
        404,
        "region_not_found",
    )
    assert counts(session) == before


def test_a_bad_region_price_change_changes_no_station(client, admin, session, two_regions):
    before = counts(session)
    refused = [
        ({"grade": "97", "price_fen": 812}, 400, "unknown_grade"),
        ({"grade": "95", "price_fen": 0}, 400, "invalid_price"),
        ({"grade": "95", "price_fen": -760}, 400, "invalid_price"),
        ({"grade": "95", "price_fen": 81200}, 400, "invalid_price"),
        ({"grade": "95", "price_fen": "812"}, 422, "validation_error"),
        ({"grade": "95", "price_fen": 8.12}, 422, "validation_error"),
        ({"grade": "95", "price_fen": 812, "effective_from": "2026-11-30T00:00:00"}, 422, "validation_error"),
    ]

    for body, status, code in refused:
        error(_put_region_price(client, admin.headers, "KM", body), status, code, body)

    assert counts(session) == before
    assert board(client, admin.headers, "S001") == {"92": 760, "95": 812}
