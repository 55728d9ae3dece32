"""Fixtures of the station console tests: a priced station, its attendant and manager signed in at
/station/login, a member with a plate, points and a ¥10 coupon."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.coupons.models import Coupon
from forecourt.kit.clock import utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.stations.models import Station
from tests.coupons.support import give_coupon, make_template
from tests.fixtures.builders import StaffLogin
from tests.members.support import earn_points, make_member, unique_plate
from tests.pos.conftest import pii, signer
from tests.pos.support import priced_station
from tests.web.support import sign_in

__all__ = ["pii", "signer"]


@dataclass(frozen=True)
class Driver:
    member: Member
    plate: str
    coupon: Coupon


@pytest.fixture
def station(session: Session) -> Station:
    """A station whose PRICES (92# ¥7.50/L …) are in force since 30 days ago."""
    return priced_station(session)


@pytest.fixture
def attendant(client: TestClient, staff: Callable[..., StaffLogin], station: Station) -> StaffLogin:
    """An attendant of ``station``, signed in at /station/login."""
    login = staff("attendant", station=station)
    sign_in(client, login, console="station")
    return login


@pytest.fixture
def manager(client: TestClient, staff: Callable[..., StaffLogin], station: Station) -> StaffLogin:
    login = staff("station_manager", station=station)
    sign_in(client, login, console="station")
    return login


@pytest.fixture
def driver(session: Session, app: FastAPI, pii: Pii, signer: Signer) -> Driver:
    """A member with a plate, 1,000 points and a ¥10-off coupon."""
    plate = unique_plate()
    member = make_member(session, pii, plates=(plate,))
    earn_points(session, signer, member.id, 1_000)
    coupon = give_coupon(
        session,
        member,
        make_template(session, name="立减10元券", terms={"amount_off_fen": 1000}).code,
        utcnow(),
    )
    return Driver(member, plate, coupon)
