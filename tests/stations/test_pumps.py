"""S1: pumps and nozzles of a station (nozzles are numbered across the station, as painted on the island)."""

from __future__ import annotations

import pytest

from forecourt.auth.permissions import Permission
from forecourt.kit.actor import Actor
from forecourt.stations import service
from forecourt.stations.errors import StationOutOfScope
from tests.fixtures.builders import make_station
from tests.stations.support import counts, error

LAYOUT = {
    "pumps": [
        {"number": 1, "nozzles": [{"number": 1, "grade": "92"}, {"number": 2, "grade": "95"}]},
        {"number": 2, "nozzles": [{"number": 3, "grade": "95"}, {"number": 4, "grade": "0"}]},
    ]
}


def _put(client, headers, code, layout):
    return client.put(f"/api/v1/stations/{code}/pumps", json=layout, headers=headers)


def _get(client, headers, code="S001"):
    response = client.get(f"/api/v1/stations/{code}/pumps", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_station_has_no_pumps(client, admin, session):
    make_station(session, "S001")

    assert _get(client, admin.headers) == {"pumps": []}


def test_admin_sets_the_pump_layout_and_reads_it_back(client, admin, session):
    make_station(session, "S001")

    response = _put(client, admin.headers, "S001", LAYOUT)

    assert response.status_code == 200, response.text
    assert response.json() == LAYOUT
    assert _get(client, admin.headers) == LAYOUT


def test_the_layout_is_returned_in_pump_and_nozzle_order(client, admin, session):
    make_station(session, "S001")
    shuffled = {
        "pumps": [
            {"number": 2, "nozzles": [{"number": 4, "grade": "0"}, {"number": 3, "grade": "95"}]},
            {"number": 1, "nozzles": [{"number": 2, "grade": "95"}, {"number": 1, "grade": "92"}]},
        ]
    }

    _put(client, admin.headers, "S001", shuffled)

    assert _get(client, admin.headers) == LAYOUT


def test_a_new_layout_replaces_the_old_one_entirely(client, admin, session):
    make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)
    rebuilt = {
        "pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "98"}, {"number": 5, "grade": "lng"}]}]
    }

    response = _put(client, admin.headers, "S001", rebuilt)

    assert response.status_code == 200, response.text
    assert _get(client, admin.headers) == rebuilt


def test_an_empty_layout_removes_every_pump(client, admin, session):
    make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)

    assert _put(client, admin.headers, "S001", {"pumps": []}).status_code == 200
    assert _get(client, admin.headers) == {"pumps": []}


def test_grade_codes_of_nozzles_are_normalised(client, admin, session):
    make_station(session, "S001")

    response = _put(
        client, admin.headers, "S001", {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "LNG"}]}]}
    )

    assert response.json()["pumps"][0]["nozzles"] == [{"number": 1, "grade": "lng"}]


def test_the_pos_finds_the_grade_of_a_nozzle_of_the_station(client, admin, session):
    station = make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)

    assert service.nozzle_grade(session, station.id, 4) == "0"
    assert service.nozzle_grade(session, station.id, 1) == "92"
    assert service.nozzle_grade(session, station.id, 9) is None


def test_layouts_are_per_station_and_nozzle_numbers_repeat_across_stations(client, admin, session):
    make_station(session, "S001")
    make_station(session, "S002")
    _put(client, admin.headers, "S001", LAYOUT)
    other = {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "ev"}]}]}

    assert _put(client, admin.headers, "S002", other).status_code == 200

    assert _get(client, admin.headers, "S001") == LAYOUT
    assert _get(client, admin.headers, "S002") == other


REFUSED_LAYOUTS = [
    # nozzle 2 on both pumps: nozzles are numbered across the station
    {
        "pumps": [
            {"number": 1, "nozzles": [{"number": 1, "grade": "92"}, {"number": 2, "grade": "95"}]},
            {"number": 2, "nozzles": [{"number": 2, "grade": "0"}]},
        ]
    },
    # the same nozzle twice on one pump
    {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "92"}, {"number": 1, "grade": "95"}]}]},
    # pump 1 twice
    {
        "pumps": [
            {"number": 1, "nozzles": [{"number": 1, "grade": "92"}]},
            {"number": 1, "nozzles": [{"number": 2, "grade": "95"}]},
        ]
    },
    {"pumps": [{"number": 0, "nozzles": [{"number": 1, "grade": "92"}]}]},
    {"pumps": [{"number": 1, "nozzles": [{"number": -1, "grade": "92"}]}]},
]


def test_repeated_or_non_positive_pump_and_nozzle_numbers_are_refused_and_the_old_layout_stays(
    client, admin, session
):
    make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)
    before = counts(session)

    for layout in REFUSED_LAYOUTS:
        error(_put(client, admin.headers, "S001", layout), 400, "invalid_pump_layout", layout)

    assert counts(session) == before
    assert _get(client, admin.headers) == LAYOUT


def test_a_nozzle_of_an_unknown_grade_is_refused_and_the_old_layout_stays(client, admin, session):
    make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)
    before = counts(session)
    layout = {
        "pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "92"}, {"number": 2, "grade": "97"}]}]
    }

    details = error(_put(client, admin.headers, "S001", layout), 400, "unknown_grade")["details"]

    assert details["grade"] == "97"
    assert counts(session) == before
    assert _get(client, admin.headers) == LAYOUT


MALFORMED_LAYOUTS = [
    {"pumps": [{"number": "1", "nozzles": []}]},
    {"pumps": [{"number": 1, "nozzles": [{"number": 1.0, "grade": "92"}]}]},
    {"pumps": [{"number": 1}]},
    {"pumps": [{"number": 1, "nozzles": [{"number": 1, "grade": "92", "hose": "red"}]}]},
    {"pumps": [{"number": 1, "nozzles": [{"number": n, "grade": "92"} for n in range(1, 18)]}]},
    {},
    [],
]


def test_a_malformed_layout_is_a_422_and_the_old_layout_stays(client, admin, session):
    make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)
    before = counts(session)

    for layout in MALFORMED_LAYOUTS:
        error(_put(client, admin.headers, "S001", layout), 422, "validation_error", layout)

    assert counts(session) == before
    assert _get(client, admin.headers) == LAYOUT


def test_malformed_json_for_a_layout_is_a_422(client, admin, session):
    make_station(session, "S001")
    before = counts(session)

    response = client.put(
        "/api/v1/stations/S001/pumps",
        content=b'{"pumps": [',
        headers={**admin.headers, "content-type": "application/json"},
    )

    error(response, 422, "malformed_json")
    assert counts(session) == before


def test_the_layout_of_an_unknown_station_is_a_404(client, admin, session):
    before = counts(session)

    error(_put(client, admin.headers, "S404", LAYOUT), 404, "station_not_found")
    error(client.get("/api/v1/stations/S404/pumps", headers=admin.headers), 404, "station_not_found")
    assert counts(session) == before


def test_only_head_office_changes_the_pump_layout(client, admin, staff, session):
    own = make_station(session, "S001")
    make_station(session, "S002")
    logins = {role: staff(role, station=own) for role in ["station_manager", "attendant", "marketing"]}
    before = counts(session)

    for role, login in logins.items():
        error(_put(client, login.headers, "S001", LAYOUT), 403, "permission_denied", role)
        error(_put(client, login.headers, "S002", LAYOUT), 403, "permission_denied", role)

    assert counts(session) == before
    assert _get(client, admin.headers, "S002") == {"pumps": []}


def test_station_staff_read_the_pump_layout_of_their_station(client, admin, staff, session):
    own = make_station(session, "S001")
    _put(client, admin.headers, "S001", LAYOUT)

    assert _get(client, staff("attendant", station=own).headers) == LAYOUT


def test_the_pump_layout_needs_a_token(client, session):
    make_station(session, "S001")
    before = counts(session)

    error(client.put("/api/v1/stations/S001/pumps", json=LAYOUT), 401, "token_missing")
    error(client.get("/api/v1/stations/S001/pumps"), 401, "token_missing")
    assert counts(session) == before


def test_a_station_bound_actor_changes_the_pumps_of_its_own_station_only(session):
    """Defence in depth: even with the write permission, station-bound staff stay on their station."""
    own = make_station(session, "S001")
    make_station(session, "S002")
    bound = Actor(
        kind="staff",
        id="bound",
        label="bound",
        role="station_manager",
        station_id=own.id,
        permissions=frozenset({str(Permission.STATIONS_WRITE)}),
    )
    layout = [service.PumpSpec(1, (service.NozzleSpec(1, "95"),))]

    with pytest.raises(StationOutOfScope):
        service.set_pump_layout(session, bound, "S002", layout)
    assert service.pump_layout(session, "S002") == []

    result = service.set_pump_layout(session, bound, "S001", layout)
    assert [(pump.number, [n.grade_code for n in nozzles]) for pump, nozzles in result] == [(1, ["95"])]
