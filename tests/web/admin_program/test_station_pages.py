"""Stations and prices in the admin console: the list, a station's prices and history, setting a
price through the stations service (a bad price is refused and changes nothing)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.stations import service as stations
from tests.fixtures.builders import StaffLogin, make_region, make_station
from tests.pos.support import priced_station
from tests.web.admin_program.support import workbook_rows
from tests.web.support import htmx, post_form, sign_in


def test_an_admin_sees_the_stations_filtered_by_region(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    north, south = make_region(session, name="北区"), make_region(session, name="南区")
    kept = make_station(session, region=north)
    other = make_station(session, region=south)
    stations.set_open(session, SYSTEM, kept.code, is_open=False)
    sign_in(client, staff("admin"))
    page = client.get(f"/admin/stations?region={north}")
    assert page.status_code == 200
    assert f'data-station="{kept.code}"' in page.text
    assert f'data-station="{other.code}"' not in page.text
    assert "已停业" in page.text


def test_the_station_list_exports_the_filtered_rows_to_excel(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    region = make_region(session)
    codes = sorted(make_station(session, region=region).code for _ in range(3))
    sign_in(client, staff("finance"))
    rows = workbook_rows(client.get(f"/admin/stations.xlsx?region={region}"))
    assert [row[0] for row in rows[1:]] == codes
    assert rows[0][0] == "编码"


def test_setting_a_price_changes_the_current_price_and_shows_in_history(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = priced_station(session)
    sign_in(client, staff("admin"))
    response = htmx(
        client, "POST", f"/admin/stations/{station.code}/prices", {"grade": "95", "price_yuan": "8.15"}
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/admin/stations/{station.code}?saved=95"
    assert stations.price_in_force(session, station.id, "95", utcnow()) == 815
    page = client.get(response.headers["HX-Redirect"])
    current = page.text.split('data-testid="current-prices"')[1].split("</table>")[0]
    assert '<tr data-grade="95"><td>95#</td><td class="num" data-testid="price">¥8.15</td>' in current
    history = page.text.split('data-testid="price-history"')[1].split("</table>")[0]
    assert history.count('data-grade="95"') == 2
    assert "¥8.15" in history
    assert "¥8.00" in history


def test_a_price_from_a_later_time_is_scheduled_not_current(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = priced_station(session)
    sign_in(client, staff("admin"))
    response = post_form(
        client,
        f"/admin/stations/{station.code}/prices",
        {"grade": "92", "price_yuan": "7.66", "effective_from": "2099-01-01T00:00"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(f"/admin/stations/{station.code}")
    assert "¥7.66" in page.text.split('data-testid="scheduled-prices"')[1]
    assert stations.price_in_force(session, station.id, "92", utcnow()) == 750


def test_an_absurd_price_is_refused_with_the_services_error_and_changes_nothing(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = priced_station(session)
    sign_in(client, staff("admin"))
    response = htmx(
        client, "POST", f"/admin/stations/{station.code}/prices", {"grade": "95", "price_yuan": "800"}
    )
    assert response.status_code == 400
    assert 'data-error-code="invalid_price"' in response.text
    assert response.headers["HX-Retarget"] == "#messages"
    unreadable = post_form(
        client, f"/admin/stations/{station.code}/prices", {"grade": "95", "price_yuan": "eight"}
    )
    assert unreadable.status_code == 400
    assert stations.price_in_force(session, station.id, "95", utcnow()) == 800
    assert len(stations.price_history(session, station.code, grade="95")) == 1


def test_a_station_manager_sets_prices_at_their_own_station_only(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    own, other = priced_station(session), priced_station(session)
    sign_in(client, staff("station_manager", station=own))
    assert (
        post_form(
            client,
            f"/admin/stations/{own.code}/prices",
            {"grade": "92", "price_yuan": "7.70"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    refused = post_form(client, f"/admin/stations/{other.code}/prices", {"grade": "92", "price_yuan": "7.70"})
    assert refused.status_code == 403
    assert 'data-error-code="station_out_of_scope"' in refused.text
    assert stations.price_in_force(session, other.id, "92", utcnow()) == 750


def test_marketing_may_read_prices_but_not_set_them(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = priced_station(session)
    sign_in(client, staff("marketing"))
    page = client.get(f"/admin/stations/{station.code}")
    assert page.status_code == 200
    assert 'data-testid="set-price-form"' not in page.text
    refused = post_form(
        client, f"/admin/stations/{station.code}/prices", {"grade": "92", "price_yuan": "7.70"}
    )
    assert refused.status_code == 403


def test_partners_cannot_open_the_stations_pages(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = make_station(session)
    sign_in(client, staff("partner"))
    assert client.get("/admin/stations").status_code == 403
    assert client.get(f"/admin/stations/{station.code}").status_code == 403


def test_a_region_wide_price_change_reaches_every_station_of_the_region(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    region = make_region(session)
    first, second = priced_station(session, region=region), priced_station(session, region=region)
    sign_in(client, staff("admin"))
    response = post_form(
        client,
        "/admin/stations/region-prices",
        {"region": region, "grade": "0", "price_yuan": "7.35"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    for station in (first, second):
        assert stations.price_in_force(session, station.id, "0", utcnow()) == 735


def test_price_history_pages_through_older_prices(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = make_station(session)
    for cents in range(30):
        stations.set_price(session, SYSTEM, station.code, grade="92", price_fen=700 + cents)
    session.flush()
    sign_in(client, staff("admin"))
    first = client.get(f"/admin/stations/{station.code}?grade=92")
    assert "grade=92&amp;page=2" in first.text
    second = client.get(f"/admin/stations/{station.code}?grade=92&page=2")
    history = second.text.split('data-testid="price-history"')[1].split("</table>")[0]
    assert history.count('data-grade="92"') == 5


def test_the_station_page_speaks_english_when_asked(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    station = priced_station(session)
    sign_in(client, staff("admin"))
    page = client.get(f"/lang/en?next=/admin/stations/{station.code}")
    assert page.status_code == 200
    assert "Current prices" in page.text
    assert "Price history" in page.text
    assert "当前油价" not in page.text
