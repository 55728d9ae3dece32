"""S1: the station network over the admin API (SPEC §7 "Admin API essentials"), open/closed, listing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from forecourt.kit.actor import SYSTEM
from forecourt.kit.pagination import encode_cursor
from forecourt.stations import service
from tests.fixtures.builders import make_region, make_station
from tests.stations.support import counts, create_region, create_station, error, parse

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- creating a station (SPEC §7: POST /api/v1/stations {code, name, region?, lat?, lng?}) ---------


def test_admin_creates_a_station_with_only_code_and_name_and_it_is_open(client, admin):
    response = client.post(
        "/api/v1/stations", json={"code": "S001", "name": "北京路站"}, headers=admin.headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "S001"
    assert body["name"] == "北京路站"
    assert body["region"] is None
    assert body["lat"] is None
    assert body["lng"] is None
    assert body["is_open"] is True
    assert body["open_now"] is True
    assert body["prices"] == []
    assert body["scheduled_prices"] == []
    fetched = client.get("/api/v1/stations/S001", headers=admin.headers)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == body["id"]
    assert fetched.json()["is_open"] is True


def test_admin_creates_a_station_in_a_region_with_coordinates(client, admin):
    create_region(client, admin.headers, "KM", "昆明片区")

    response = client.post(
        "/api/v1/stations",
        json={"code": "S002", "name": "滇池路站", "region": "KM", "lat": 25.0406, "lng": 102.7129},
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["region"] == {"code": "KM", "name": "昆明片区"}
    assert body["lat"] == pytest.approx(25.0406)
    assert body["lng"] == pytest.approx(102.7129)


def test_station_and_region_codes_are_upper_cased_and_found_in_any_case(client, admin):
    create_region(client, admin.headers, "km")
    response = create_station(client, admin.headers, "s-003_a", region="km")

    assert response.json()["code"] == "S-003_A"
    assert response.json()["region"]["code"] == "KM"
    assert client.get("/api/v1/stations/s-003_a", headers=admin.headers).json()["code"] == "S-003_A"


def test_coordinates_are_kept_to_six_decimal_places(client, admin):
    response = create_station(client, admin.headers, "S004", lat=25.12345678, lng=102.1234565)

    assert response.json()["lat"] == pytest.approx(25.123457)
    assert response.json()["lng"] == pytest.approx(102.123457)


def test_a_duplicate_station_code_is_a_409_and_the_first_station_is_untouched(client, admin, session):
    create_station(client, admin.headers, "S001", name="北京路站")
    before = counts(session)

    response = client.post("/api/v1/stations", json={"code": "s001", "name": "冒名站"}, headers=admin.headers)

    error(response, 409, "station_code_taken")
    assert counts(session) == before
    assert client.get("/api/v1/stations/S001", headers=admin.headers).json()["name"] == "北京路站"


def test_an_invalid_station_code_is_refused(client, admin, session):
    before = counts(session)

    for code in ["S 001", "站001", "-S001", "S001!", " ", "S/1"]:
        response = client.post("/api/v1/stations", json={"code": code, "name": "x"}, headers=admin.headers)

        assert error(response, 400, "invalid_station", code)["details"]["field"] == "code"
    assert counts(session) == before


def test_a_station_code_longer_than_32_characters_is_malformed(client, admin, session):
    before = counts(session)

    response = client.post("/api/v1/stations", json={"code": "S" * 33, "name": "x"}, headers=admin.headers)

    error(response, 422, "validation_error")
    assert counts(session) == before


def test_a_blank_station_name_is_refused(client, admin, session):
    before = counts(session)

    response = client.post("/api/v1/stations", json={"code": "S001", "name": "   "}, headers=admin.headers)

    error(response, 400, "invalid_station")
    assert counts(session) == before


def test_coordinates_outside_china_are_refused(client, admin, session):
    before = counts(session)
    outside = [
        (0.0, 0.0),  # Null Island, the classic default-value typo
        (51.5074, -0.1278),  # London
        (102.71, 25.04),  # Kunming with latitude and longitude swapped
        (25.04, 135.2),  # just east of the range
        (53.7, 120.0),  # just north of the range
        (-25.04, 102.71),
    ]

    for lat, lng in outside:
        response = client.post(
            "/api/v1/stations",
            json={"code": "S001", "name": "x", "lat": lat, "lng": lng},
            headers=admin.headers,
        )

        assert "outside China" in error(response, 400, "invalid_station", (lat, lng))["message"]
    assert counts(session) == before


def test_only_one_of_lat_and_lng_is_refused(client, admin, session):
    before = counts(session)

    for given in [{"lat": 25.04}, {"lng": 102.71}]:
        response = client.post(
            "/api/v1/stations", json={"code": "S001", "name": "x", **given}, headers=admin.headers
        )

        assert "both lat and lng" in error(response, 400, "invalid_station", given)["message"]
    assert counts(session) == before


def test_coordinates_on_the_edge_of_the_china_range_are_accepted(client, admin):
    response = create_station(client, admin.headers, "S001", lat=53.6, lng=73.4)

    assert response.json()["lat"] == pytest.approx(53.6)


def test_a_station_in_an_unknown_region_is_a_404_and_nothing_is_written(client, admin, session):
    before = counts(session)

    response = client.post(
        "/api/v1/stations", json={"code": "S001", "name": "x", "region": "NOWHERE"}, headers=admin.headers
    )

    error(response, 404, "region_not_found")
    assert counts(session) == before


def test_malformed_json_when_creating_a_station_is_a_422_and_nothing_is_written(client, admin, session):
    before = counts(session)

    response = client.post(
        "/api/v1/stations",
        content=b'{"code": "S001", "name": ',
        headers={**admin.headers, "content-type": "application/json"},
    )

    error(response, 422, "malformed_json")
    assert counts(session) == before


def test_a_malformed_station_is_a_422_validation_error(client, admin, session):
    before = counts(session)
    malformed = [
        {"code": "S001"},
        {"name": "北京路站"},
        {"code": 1, "name": "北京路站"},
        {"code": "S001", "name": "北京路站", "lat": "north"},
        {"code": "S001", "name": "北京路站", "colour": "red"},
        {"code": "S001", "name": "北京路站", "opens_at": "25:00"},
        [{"code": "S001", "name": "北京路站"}],
    ]

    for body in malformed:
        error(
            client.post("/api/v1/stations", json=body, headers=admin.headers), 422, "validation_error", body
        )
    assert counts(session) == before


def test_only_head_office_admins_create_stations(client, staff, session):
    logins = {
        role: staff(role) for role in ["station_manager", "attendant", "marketing", "finance", "service"]
    }
    before = counts(session)

    for role, login in logins.items():
        response = client.post("/api/v1/stations", json={"code": "S999", "name": "x"}, headers=login.headers)

        error(response, 403, "permission_denied", role)
    assert counts(session) == before


def test_creating_a_station_without_a_token_is_a_401(client, session):
    before = counts(session)

    response = client.post("/api/v1/stations", json={"code": "S001", "name": "x"})

    error(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert counts(session) == before


def test_creating_a_station_with_a_bad_token_is_a_401(client, session):
    before = counts(session)

    for authorization in ["Bearer not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer "]:
        response = client.post(
            "/api/v1/stations", json={"code": "S001", "name": "x"}, headers={"Authorization": authorization}
        )

        assert response.status_code == 401, authorization
        assert response.json()["error"]["code"] in {"token_invalid", "token_missing"}
    assert counts(session) == before


def test_reading_a_station_needs_a_token(client, session):
    make_station(session, "S001")

    error(client.get("/api/v1/stations/S001"), 401, "token_missing")
    error(client.get("/api/v1/stations"), 401, "token_missing")


def test_an_unknown_station_is_a_404(client, admin):
    error(client.get("/api/v1/stations/S404", headers=admin.headers), 404, "station_not_found")


def test_every_operations_role_reads_the_network(client, staff, session):
    make_station(session, "S001")

    for role in ["marketing", "finance", "service", "attendant", "station_manager", "agent"]:
        login = staff(role)
        assert client.get("/api/v1/stations/S001", headers=login.headers).status_code == 200, role
        assert client.get("/api/v1/stations", headers=login.headers).status_code == 200, role


def test_partners_do_not_see_the_station_network(client, staff, session):
    make_station(session, "S001")
    error(client.get("/api/v1/stations/S001", headers=staff("partner").headers), 403, "permission_denied")


def test_the_grades_of_the_spec_are_installed(client, admin):
    response = client.get("/api/v1/grades", headers=admin.headers)

    assert response.status_code == 200
    grades = {grade["code"]: grade for grade in response.json()}
    assert set(grades) == {"92", "95", "98", "0", "lng", "cng", "ev"}
    assert grades["ev"]["unit"] == "kWh"
    assert grades["lng"]["unit"] == "kg"
    assert grades["0"]["fuel_type"] == "diesel"


# --- regions ----------------------------------------------------------------------------------------


def test_admin_creates_and_lists_regions(client, admin):
    create_region(client, admin.headers, "KM", "昆明片区")
    create_region(client, admin.headers, "DL", "大理片区")

    listed = client.get("/api/v1/regions", headers=admin.headers).json()

    assert listed == [{"code": "DL", "name": "大理片区"}, {"code": "KM", "name": "昆明片区"}]


def test_a_duplicate_region_code_is_a_409(client, admin, session):
    create_region(client, admin.headers, "KM")
    before = counts(session)

    response = client.post("/api/v1/regions", json={"code": "km", "name": "again"}, headers=admin.headers)

    error(response, 409, "region_code_taken")
    assert counts(session) == before


# --- open / closed -----------------------------------------------------------------------------------


def test_admin_closes_and_reopens_a_station(client, admin, session):
    make_station(session, "S001")

    closed = client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=admin.headers)

    assert closed.status_code == 200, closed.text
    assert closed.json()["is_open"] is False
    assert closed.json()["open_now"] is False
    assert client.get("/api/v1/stations/S001", headers=admin.headers).json()["is_open"] is False

    reopened = client.put("/api/v1/stations/S001/status", json={"is_open": True}, headers=admin.headers)

    assert reopened.json()["is_open"] is True
    assert reopened.json()["open_now"] is True
    assert parse(reopened.json()["status_changed_at"]) > parse(closed.json()["status_changed_at"])


def test_station_manager_closes_their_own_station(client, staff, session):
    own = make_station(session, "S001")
    manager = staff("station_manager", station=own)

    response = client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=manager.headers)

    assert response.status_code == 200, response.text
    assert response.json()["is_open"] is False


def test_station_manager_cannot_close_another_station(client, staff, session):
    own = make_station(session, "S001")
    make_station(session, "S002")
    manager = staff("station_manager", station=own)
    before = counts(session)

    response = client.put("/api/v1/stations/S002/status", json={"is_open": False}, headers=manager.headers)

    error(response, 403, "station_out_of_scope")
    assert counts(session) == before
    assert client.get("/api/v1/stations/S002", headers=manager.headers).json()["is_open"] is True


def test_roles_without_the_operate_permission_cannot_close_a_station(client, staff, session):
    station = make_station(session, "S001")
    logins = {role: staff(role, station=station) for role in ["attendant", "marketing", "finance", "service"]}
    before = counts(session)

    for role, login in logins.items():
        response = client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=login.headers)

        error(response, 403, "permission_denied", role)
    assert counts(session) == before


def test_closing_an_unknown_station_is_a_404(client, admin, session):
    before = counts(session)
    error(
        client.put("/api/v1/stations/S404/status", json={"is_open": False}, headers=admin.headers),
        404,
        "station_not_found",
    )
    assert counts(session) == before


def test_a_malformed_status_is_a_422_and_the_station_stays_open(client, admin, session):
    make_station(session, "S001")
    before = counts(session)

    for body in [{"is_open": "maybe"}, {"is_open": None}, {}, {"is_open": False, "reason": "x"}]:
        response = client.put("/api/v1/stations/S001/status", json=body, headers=admin.headers)

        error(response, 422, "validation_error", body)
    assert counts(session) == before
    assert client.get("/api/v1/stations/S001", headers=admin.headers).json()["is_open"] is True


def test_setting_the_status_a_station_already_has_changes_nothing(client, admin, session):
    make_station(session, "S001")
    before = counts(session)

    response = client.put("/api/v1/stations/S001/status", json={"is_open": True}, headers=admin.headers)

    assert response.status_code == 200
    assert counts(session) == before


def _station_with_hours(session, code: str, opens_at: time, closes_at: time):
    station = make_station(session, code)
    service.update_station(session, SYSTEM, code, {"opens_at": opens_at, "closes_at": closes_at})
    session.flush()
    return station


def _open_now_at(client, headers, local: datetime) -> bool:
    with time_machine.travel(local, tick=False):
        body = client.get("/api/v1/stations/S001", headers=headers).json()
    assert body["is_open"] is True
    return bool(body["open_now"])


def test_open_now_follows_business_hours_in_chain_time(client, admin, session):
    _station_with_hours(session, "S001", time(6, 0), time(22, 0))
    expected = {
        datetime(2025, 3, 4, 5, 59, tzinfo=SHANGHAI): False,
        datetime(2025, 3, 4, 6, 0, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 4, 14, 0, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 4, 21, 59, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 4, 22, 0, tzinfo=SHANGHAI): False,
        # 23:00 UTC is 07:00 the next morning in Kunming: open, although 23:00 is outside the hours.
        datetime(2025, 3, 4, 23, 0, tzinfo=UTC): True,
    }

    assert {local: _open_now_at(client, admin.headers, local) for local in expected} == expected


def test_open_now_handles_business_hours_that_cross_midnight(client, admin, session):
    _station_with_hours(session, "S001", time(22, 0), time(2, 0))
    expected = {
        datetime(2025, 3, 4, 21, 59, tzinfo=SHANGHAI): False,
        datetime(2025, 3, 4, 22, 0, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 4, 23, 59, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 5, 0, 0, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 5, 1, 59, tzinfo=SHANGHAI): True,
        datetime(2025, 3, 5, 2, 0, tzinfo=SHANGHAI): False,
        datetime(2025, 3, 5, 12, 0, tzinfo=SHANGHAI): False,
    }

    assert {local: _open_now_at(client, admin.headers, local) for local in expected} == expected


def test_a_closed_station_is_not_open_now_even_within_its_hours(client, admin, session):
    _station_with_hours(session, "S001", time(6, 0), time(22, 0))
    client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=admin.headers)

    with time_machine.travel(datetime(2025, 3, 4, 12, 0, tzinfo=SHANGHAI), tick=False):
        body = client.get("/api/v1/stations/S001", headers=admin.headers).json()

    assert body["is_open"] is False
    assert body["open_now"] is False


def test_admin_sets_business_hours_when_creating_a_station(client, admin):
    response = create_station(client, admin.headers, "S001", opens_at="06:30:00", closes_at="23:00:00")

    assert response.json()["opens_at"] == "06:30:00"
    assert response.json()["closes_at"] == "23:00:00"


def test_half_given_or_empty_business_hours_are_refused(client, admin, session):
    before = counts(session)

    for hours in [
        {"opens_at": "06:00:00"},
        {"closes_at": "22:00:00"},
        {"opens_at": "06:00", "closes_at": "06:00"},
    ]:
        response = client.post(
            "/api/v1/stations", json={"code": "S001", "name": "x", **hours}, headers=admin.headers
        )

        error(response, 400, "invalid_station", hours)
    assert counts(session) == before


def test_admin_changes_business_hours_of_a_station(client, admin, session):
    make_station(session, "S001")

    response = client.patch(
        "/api/v1/stations/S001", json={"opens_at": "22:00:00", "closes_at": "02:00:00"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert (response.json()["opens_at"], response.json()["closes_at"]) == ("22:00:00", "02:00:00")
    with time_machine.travel(datetime(2025, 3, 5, 1, 0, tzinfo=SHANGHAI), tick=False):
        assert client.get("/api/v1/stations/S001", headers=admin.headers).json()["open_now"] is True


# --- listing ----------------------------------------------------------------------------------------


def _codes(client, headers, **params) -> list[str]:
    """Every station code the listing returns, following next_cursor page by page."""
    codes: list[str] = []
    cursor = None
    for _ in range(20):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/stations", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        codes.extend(item["code"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return codes
    raise AssertionError("the listing never ended")


def test_listing_stations_pages_through_every_station_once_in_code_order(client, admin, session):
    for code in ["S005", "S001", "S004", "S002", "S003"]:
        make_station(session, code)

    first = client.get("/api/v1/stations", params={"limit": 2}, headers=admin.headers).json()

    assert [item["code"] for item in first["items"]] == ["S001", "S002"]
    assert first["next_cursor"]
    second = client.get(
        "/api/v1/stations", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin.headers
    ).json()
    assert [item["code"] for item in second["items"]] == ["S003", "S004"]
    assert _codes(client, admin.headers, limit=2) == ["S001", "S002", "S003", "S004", "S005"]
    assert _codes(client, admin.headers, limit=5) == ["S001", "S002", "S003", "S004", "S005"]
    assert _codes(client, admin.headers) == ["S001", "S002", "S003", "S004", "S005"]


def test_the_last_page_of_stations_has_no_next_cursor(client, admin, session):
    for code in ["S001", "S002", "S003"]:
        make_station(session, code)

    page = client.get("/api/v1/stations", params={"limit": 5}, headers=admin.headers).json()

    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


def test_listing_stations_filters_by_region(client, admin, session):
    make_region(session, "KM")
    make_region(session, "DL")
    for code in ["S001", "S003", "S005"]:
        make_station(session, code, region="KM")
    make_station(session, "S002", region="DL")
    make_station(session, "S004")

    assert _codes(client, admin.headers, region="KM", limit=2) == ["S001", "S003", "S005"]
    assert _codes(client, admin.headers, region="dl") == ["S002"]
    item = client.get("/api/v1/stations", params={"region": "DL"}, headers=admin.headers).json()["items"][0]
    assert item["region"]["code"] == "DL"


def test_listing_stations_of_an_unknown_region_is_a_404(client, admin):
    error(
        client.get("/api/v1/stations", params={"region": "NOWHERE"}, headers=admin.headers),
        404,
        "region_not_found",
    )


def test_listing_stations_filters_by_open_or_closed(client, admin, session):
    for code in ["S001", "S002", "S003", "S004"]:
        make_station(session, code)
    for code in ["S002", "S004"]:
        service.set_open(session, SYSTEM, code, is_open=False)
    session.flush()

    assert _codes(client, admin.headers, is_open="false") == ["S002", "S004"]
    assert _codes(client, admin.headers, is_open="true", limit=1) == ["S001", "S003"]
    assert _codes(client, admin.headers) == ["S001", "S002", "S003", "S004"]


def test_listing_stations_combines_region_and_open_filters(client, admin, session):
    make_region(session, "KM")
    for code in ["S001", "S002", "S003"]:
        make_station(session, code, region="KM")
    make_station(session, "S004")
    service.set_open(session, SYSTEM, "S002", is_open=False)
    service.set_open(session, SYSTEM, "S004", is_open=False)
    session.flush()

    assert _codes(client, admin.headers, region="KM", is_open="false") == ["S002"]


def test_a_garbage_station_cursor_is_a_400(client, admin, session):
    make_station(session, "S001")

    for cursor in ["garbage!", "bm90IGpzb24", encode_cursor("S001", "S002")]:
        response = client.get("/api/v1/stations", params={"cursor": cursor}, headers=admin.headers)

        error(response, 400, "invalid_cursor", cursor)


def test_a_station_page_limit_out_of_range_is_a_422(client, admin):
    for limit in ["0", "-1", "501", "ten"]:
        response = client.get("/api/v1/stations", params={"limit": limit}, headers=admin.headers)

        error(response, 422, "validation_error", limit)
