"""SPEC §3 Audit: each staff write of the stations context records who, what, before/after, request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.builders import make_region, make_station
from tests.stations.support import audit, create_station, error, put_price


def _only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


def test_creating_a_station_is_audited_with_the_request_id_and_the_actor(client, admin):
    response = create_station(client, admin.headers, "S001", lat=25.04, lng=102.71)
    station_id = response.json()["id"]

    row = _only(
        audit(client, admin.headers, entity_type="station", entity_id=station_id, action="station.create")
    )

    assert row["request_id"] == response.headers["X-Request-ID"]
    assert row["actor_kind"] == "staff"
    assert row["actor_id"] == str(admin.user.id)
    assert row["actor_label"] == admin.user.username
    assert row["actor_role"] == "admin"
    assert row["before"] is None
    assert row["after"]["code"] == "S001"
    assert row["after"]["is_open"] is True


def test_an_incoming_request_id_is_the_one_the_audit_row_keeps(client, admin):
    response = client.post(
        "/api/v1/stations",
        json={"code": "S001", "name": "北京路站"},
        headers={**admin.headers, "X-Request-ID": "console-20261122-0001"},
    )

    assert response.headers["X-Request-ID"] == "console-20261122-0001"
    row = _only(audit(client, admin.headers, request_id="console-20261122-0001"))
    assert row["action"] == "station.create"
    assert row["entity_id"] == response.json()["id"]


def test_setting_a_price_is_audited_with_the_request_id(client, admin, session):
    station = make_station(session, "S001")

    response = put_price(client, admin.headers, "S001", "95", 812)

    assert response.status_code == 200, response.text
    row = _only(
        audit(client, admin.headers, entity_type="station", entity_id=str(station.id), action="price.set")
    )
    assert row["request_id"] == response.headers["X-Request-ID"]
    assert row["actor_label"] == admin.user.username
    assert row["after"]["grade"] == "95"
    assert row["after"]["price_fen"] == 812
    assert row["after"]["source"] == "station"


def test_a_price_set_from_now_is_not_flagged_as_backdated(client, admin, session):
    station = make_station(session, "S001")

    put_price(client, admin.headers, "S001", "95", 812)

    row = _only(audit(client, admin.headers, entity_id=str(station.id), action="price.set"))
    assert row["after"]["backdated"] is False


def test_a_price_set_for_a_past_moment_is_flagged_as_backdated(client, admin, session):
    station = make_station(session, "S001")

    response = put_price(client, admin.headers, "S001", "95", 820, "2025-03-04T10:00:00+08:00")

    row = _only(audit(client, admin.headers, entity_id=str(station.id), action="price.set"))
    assert row["request_id"] == response.headers["X-Request-ID"]
    assert row["after"]["backdated"] is True
    assert datetime.fromisoformat(row["after"]["effective_from"]) == datetime(2025, 3, 4, 2, 0, tzinfo=UTC)


def test_a_scheduled_price_is_not_flagged_as_backdated(client, admin, session):
    station = make_station(session, "S001")

    put_price(client, admin.headers, "S001", "95", 845, datetime.now(UTC) + timedelta(days=1))

    row = _only(audit(client, admin.headers, entity_id=str(station.id), action="price.set"))
    assert row["after"]["backdated"] is False


def test_the_price_audit_row_records_the_price_it_replaced(client, admin, session):
    station = make_station(session, "S001")
    put_price(client, admin.headers, "S001", "95", 812)

    put_price(client, admin.headers, "S001", "95", 826)

    rows = audit(client, admin.headers, entity_id=str(station.id), action="price.set")
    assert [(r["before"]["price_fen"], r["after"]["price_fen"]) for r in rows] == [(812, 826), (None, 812)]


def test_closing_and_reopening_a_station_are_audited_with_before_and_after(client, admin, session):
    station = make_station(session, "S001")

    closed = client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=admin.headers)
    reopened = client.put("/api/v1/stations/S001/status", json={"is_open": True}, headers=admin.headers)

    close_row = _only(audit(client, admin.headers, entity_id=str(station.id), action="station.close"))
    open_row = _only(audit(client, admin.headers, entity_id=str(station.id), action="station.open"))
    assert close_row["request_id"] == closed.headers["X-Request-ID"]
    assert (close_row["before"], close_row["after"]) == ({"is_open": True}, {"is_open": False})
    assert open_row["request_id"] == reopened.headers["X-Request-ID"]
    assert (open_row["before"], open_row["after"]) == ({"is_open": False}, {"is_open": True})


def test_a_manager_closing_their_station_is_audited_under_their_name(client, staff, session):
    station = make_station(session, "S001")
    manager = staff("station_manager", station=station)

    response = client.put("/api/v1/stations/S001/status", json={"is_open": False}, headers=manager.headers)

    row = _only(audit(client, staff("admin").headers, request_id=response.headers["X-Request-ID"]))
    assert row["action"] == "station.close"
    assert row["actor_label"] == manager.user.username
    assert row["actor_role"] == "station_manager"


def test_a_region_price_change_is_audited_once_for_the_region_and_once_per_station(client, admin, session):
    make_region(session, "KM")
    stations = [make_station(session, code, region="KM") for code in ("S001", "S002")]
    make_station(session, "S900")

    response = client.put(
        "/api/v1/regions/KM/prices", json={"grade": "92", "price_fen": 770}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    request_id = response.headers["X-Request-ID"]
    region_row = _only(audit(client, admin.headers, action="price.set_region", request_id=request_id))
    assert region_row["entity_type"] == "region"
    assert region_row["after"]["grade"] == "92"
    assert region_row["after"]["price_fen"] == 770
    assert region_row["after"]["stations"] == 2
    station_rows = audit(client, admin.headers, action="price.set", request_id=request_id)
    assert sorted(r["entity_id"] for r in station_rows) == sorted(str(s.id) for s in stations)
    assert {r["after"]["source"] for r in station_rows} == {"region"}


def test_changing_the_pump_layout_is_audited_with_before_and_after(client, admin, session):
    station = make_station(session, "S001")
    first = {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "92"}]}]}
    second = {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "95"}]}]}
    client.put("/api/v1/stations/S001/pumps", json=first, headers=admin.headers)

    response = client.put("/api/v1/stations/S001/pumps", json=second, headers=admin.headers)

    rows = audit(client, admin.headers, entity_id=str(station.id), action="station.pumps")
    assert len(rows) == 2
    assert rows[0]["request_id"] == response.headers["X-Request-ID"]
    assert rows[0]["before"] == first
    assert rows[0]["after"] == second


def test_a_refused_write_leaves_no_audit_row(client, admin, staff, session):
    own = make_station(session, "S001")
    make_station(session, "S002")
    manager = staff("station_manager", station=own)

    refused = [
        put_price(client, manager.headers, "S002", "95", 812),
        put_price(client, admin.headers, "S002", "95", 0),
        client.put("/api/v1/stations/S002/status", json={"is_open": False}, headers=manager.headers),
        client.post("/api/v1/stations", json={"code": "S002", "name": "x"}, headers=admin.headers),
    ]

    assert [r.status_code for r in refused] == [403, 400, 403, 409]
    for response in refused:
        assert audit(client, admin.headers, request_id=response.headers["X-Request-ID"]) == []


def test_only_those_allowed_to_read_the_audit_trail_see_station_changes(client, staff, session):
    station = make_station(session, "S001")
    manager = staff("station_manager", station=station)

    error(client.get("/api/v1/audit", headers=manager.headers), 403, "permission_denied")


def test_a_region_price_from_now_is_not_flagged_as_backdated_at_its_stations(client, admin, session):
    make_region(session, "KM")
    make_station(session, "S001", region="KM")

    response = client.put(
        "/api/v1/regions/KM/prices", json={"grade": "92", "price_fen": 770}, headers=admin.headers
    )

    rows = audit(client, admin.headers, action="price.set", request_id=response.headers["X-Request-ID"])
    assert [r["after"]["backdated"] for r in rows] == [False]
