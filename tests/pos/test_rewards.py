"""Events that earn (SPEC R3, §5): welcome points on the first plate, referrals on the referee's
first fueling, the daily check-in and its streak, profile completion and the monthly diesel task.
Each one-off reward is given once, however often its trigger fires."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone
from forecourt.ledger import history, points
from forecourt.ledger.chain import Signer
from forecourt.members import plate_bindings, vehicles
from forecourt.members import service as members
from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.rules.models import RewardGrant
from tests.devices.support import error_of
from tests.members.support import member_login, spend_points, unique_plate
from tests.pos.support import Terminal, deliver_events, fuel, goods, points_of

CHECK_INS = "/api/v1/me/check-ins"


def balances(session: Session, member: Member) -> tuple[int, int]:
    """(available, pending) points."""
    session.expire_all()
    held = points.balances(session, member.id)
    return held.available, held.pending


def ledger_reasons(session: Session, member: Member) -> list[tuple[str, int, int]]:
    """The member's postings, oldest first: (reason, change of available, change of pending)."""
    lines = history.member_postings(session, member.id, before=None, limit=100)
    return [(line.reason, line.available, line.pending) for line in reversed(lines)]


def grants_of(session: Session, member: Member, rule_code: str) -> list[RewardGrant]:
    session.expire_all()
    return list(
        session.scalars(
            select(RewardGrant)
            .where(RewardGrant.member_id == member.id, RewardGrant.rule_code == rule_code)
            .order_by(RewardGrant.granted_at)
        )
    )


# --- welcome -----------------------------------------------------------------------------------


def test_the_first_plate_earns_500_welcome_points_once(
    member: Callable[..., Member], session: Session, database: Database
) -> None:
    driver = member()
    deliver_events(database)
    assert balances(session, driver) == (0, 0)
    plate_bindings.bind_plate(session, SYSTEM, driver, unique_plate())
    session.flush()
    deliver_events(database)
    assert balances(session, driver) == (500, 0)
    assert ledger_reasons(session, driver) == [("reward.first_plate", 500, 0)]
    second = unique_plate()
    plate_bindings.bind_plate(session, SYSTEM, driver, second)
    plate_bindings.release_plate(session, SYSTEM, driver, second)
    plate_bindings.bind_plate(session, SYSTEM, driver, unique_plate())
    session.flush()
    deliver_events(database)
    deliver_events(database)
    assert balances(session, driver) == (500, 0)
    assert len(grants_of(session, driver, "welcome")) == 1


def test_a_member_registered_with_plates_gets_the_welcome_points_once(
    member: Callable[..., Member], session: Session, database: Database
) -> None:
    driver = member(plates=(unique_plate(), unique_plate()))
    deliver_events(database)
    assert balances(session, driver) == (500, 0)
    plate_bindings.bind_plate(session, SYSTEM, driver, unique_plate())
    session.flush()
    deliver_events(database)
    assert balances(session, driver) == (500, 0)


# --- referral ----------------------------------------------------------------------------------


def referred_pair(member: Callable[..., Member], database: Database) -> tuple[Member, Member]:
    """A referrer and the member who registered with their referral code (events delivered)."""
    referrer = member()
    referee = member(referral_code=referrer.referral_code)
    deliver_events(database)
    return referrer, referee


def test_a_referral_gives_both_sides_1000_pending_points(
    member: Callable[..., Member], session: Session, database: Database
) -> None:
    referrer, referee = referred_pair(member, database)
    assert referee.referred_by_id == referrer.id
    assert balances(session, referrer) == (0, 1_000)
    assert balances(session, referee) == (0, 1_000)
    deliver_events(database)
    assert balances(session, referrer) == (0, 1_000)
    assert [g.status for g in grants_of(session, referrer, "referral")] == ["pending"]


def test_the_referees_first_fueling_posts_both_sides(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database
) -> None:
    referrer, referee = referred_pair(member, database)
    referrers_own = terminal.commit(terminal.basket(fuel("92", "10.00"), member=referrer)).json()
    assert balances(session, referrer) == (referrers_own["points_earned"]["total"], 1_000)
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee))
    assert sale.status_code == 201, sale.json()
    earned = sale.json()["points_earned"]["total"]
    assert sale.json()["member_after"]["points_available"] == 1_000 + earned
    assert sale.json()["member_after"]["points_pending"] == 0
    assert balances(session, referee) == (1_000 + earned, 0)
    assert balances(session, referrer) == (referrers_own["points_earned"]["total"] + 1_000, 0)
    for side in (referrer, referee):
        [grant] = grants_of(session, side, "referral")
        assert (grant.status, grant.settled_by) == ("posted", f"sale:{sale.json()['id']}")


def test_a_car_wash_is_not_the_first_fueling(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database
) -> None:
    referrer, referee = referred_pair(member, database)
    wash = terminal.commit(terminal.basket(goods(), member=referee))
    assert wash.status_code == 201, wash.json()
    assert balances(session, referrer) == (0, 1_000)
    assert balances(session, referee) == (wash.json()["points_earned"]["total"], 1_000)
    fueling = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee))
    assert fueling.status_code == 201, fueling.json()
    assert balances(session, referrer) == (1_000, 0)
    assert fueling.json()["member_after"]["points_pending"] == 0


def test_a_referee_fueling_before_the_referral_event_is_handled_still_releases_it(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database
) -> None:
    """The outbox may run late (a retry after a failure): the order of the two must not matter."""
    referrer = member()
    referee = member(referral_code=referrer.referral_code)
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee))
    assert sale.status_code == 201, sale.json()
    deliver_events(database)
    assert balances(session, referrer) == (1_000, 0)
    assert balances(session, referee) == (1_000 + sale.json()["points_earned"]["total"], 0)


def test_a_second_sale_posts_nothing_again(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database
) -> None:
    referrer, referee = referred_pair(member, database)
    first = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee)).json()
    second = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee)).json()
    earned = first["points_earned"]["total"] + second["points_earned"]["total"]
    assert second["member_after"]["points_available"] == 1_000 + earned
    assert balances(session, referee) == (1_000 + earned, 0)
    assert balances(session, referrer) == (1_000, 0)
    reasons = [reason for reason, _, _ in ledger_reasons(session, referee)]
    assert reasons.count("reward.referral") == 1


def test_a_full_refund_of_the_first_fueling_takes_the_referral_back_from_both(
    terminal: Terminal,
    member: Callable[..., Member],
    session: Session,
    database: Database,
    signer: Signer,
) -> None:
    referrer, referee = referred_pair(member, database)
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee)).json()
    spend_points(session, signer, referrer.id, 600)  # spent before the refund: the balance goes negative
    refund = terminal.refund(sale["id"])
    assert refund.status_code == 200, refund.json()
    assert refund.json()["member_after"]["points_available"] == 0
    assert balances(session, referee) == (0, 0)
    assert balances(session, referrer) == (-600, 0)
    for side in (referrer, referee):
        assert [g.status for g in grants_of(session, side, "referral")] == ["reversed"]
    assert ledger_reasons(session, referrer)[-1] == ("reward.reversed", -1_000, 0)
    again = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee)).json()
    assert balances(session, referee) == (again["points_earned"]["total"], 0)
    assert balances(session, referrer) == (-600, 0)


def test_a_partial_refund_keeps_the_referral_until_the_sale_is_refunded_in_full(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database
) -> None:
    referrer, referee = referred_pair(member, database)
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=referee)).json()
    part = terminal.refund(sale["id"], lines=[{"line_id": "1", "liters": "10.00"}])
    assert part.status_code == 200, part.json()
    assert balances(session, referrer) == (1_000, 0)
    assert [g.status for g in grants_of(session, referee, "referral")] == ["posted"]
    rest = terminal.refund(sale["id"])
    assert rest.json()["refund"]["full"] is True
    assert balances(session, referrer) == (0, 0)
    assert balances(session, referee) == (0, 0)


# --- daily check-in ----------------------------------------------------------------------------


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=chain_zone())


def check_in_at(
    client: TestClient, session: Session, pii: Pii, phone: str, moment: datetime
) -> tuple[int, dict[str, Any]]:
    """Sign in and check in at ``moment`` (local time of the chain)."""
    with time_machine.travel(moment, tick=False):
        login = member_login(client, session, pii, phone)
        response = client.post(CHECK_INS, headers=login.headers)
    return response.status_code, response.json()


def test_a_check_in_earns_5_points_once_a_day(client: TestClient, session: Session, pii: Pii) -> None:
    login = member_login(client, session, pii)
    first = client.post(CHECK_INS, headers=login.headers)
    assert first.status_code == 201, first.json()
    assert first.json()["points"] == 5
    assert first.json()["streak"] == 1
    again = client.post(CHECK_INS, headers=login.headers)
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_checked_in"
    driver = members.get_member(session, uuid.UUID(login.member_id))
    assert points_of(session, driver) == 5


def test_the_7th_day_in_a_row_earns_30_more_and_a_missed_day_starts_again(
    client: TestClient, session: Session, pii: Pii
) -> None:
    signed_up = member_login(client, session, pii)
    phone = signed_up.phone
    start = datetime.now(chain_zone()).date() + timedelta(days=1)
    answers = [
        check_in_at(client, session, pii, phone, local(start + timedelta(days=n), time(9))) for n in range(6)
    ]
    # the 7th day begins at local midnight: 00:05 is a new day, and 23:55 the same day is taken
    answers.append(check_in_at(client, session, pii, phone, local(start + timedelta(days=6), time(0, 5))))
    status, late = check_in_at(client, session, pii, phone, local(start + timedelta(days=6), time(23, 55)))
    assert (status, late["error"]["code"]) == (409, "already_checked_in")
    answers.append(check_in_at(client, session, pii, phone, local(start + timedelta(days=7), time(9))))
    # day 9 missed
    answers.append(check_in_at(client, session, pii, phone, local(start + timedelta(days=9), time(9))))
    assert [status for status, _ in answers] == [201] * 9
    assert [(body["streak"], body["points"]) for _, body in answers] == [
        (1, 5),
        (2, 5),
        (3, 5),
        (4, 5),
        (5, 5),
        (6, 5),
        (7, 35),
        (8, 5),
        (1, 5),
    ]
    assert [body["day"] for _, body in answers][6] == (start + timedelta(days=6)).isoformat()
    driver = members.get_member(session, uuid.UUID(signed_up.member_id))
    assert points_of(session, driver) == 8 * 5 + 35


# --- profile completion ------------------------------------------------------------------------


def test_a_completed_profile_earns_200_points_once(
    terminal: Terminal, member: Callable[..., Member], session: Session, database: Database, pii: Pii
) -> None:
    driver = member(
        gender="female",
        birthday=date(1990, 5, 17),
        occupation="网约车司机",
        home_station=terminal.station,
        plates=(unique_plate(),),
    )
    deliver_events(database)
    assert balances(session, driver) == (500, 0)  # the welcome points; the profile lacks a vehicle
    assert members.completion(session, driver) < 100
    vehicle = vehicles.add_vehicle(session, SYSTEM, driver, model="比亚迪 秦", fuel_preference="92")
    session.flush()
    deliver_events(database)
    assert members.completion(session, driver) == 100
    assert balances(session, driver) == (700, 0)
    assert ("reward.profile_completed", 200, 0) in ledger_reasons(session, driver)
    members.update_profile(session, SYSTEM, pii, driver, source="staff", occupation=None)
    members.update_profile(session, SYSTEM, pii, driver, source="staff", occupation="货车司机")
    vehicles.remove_vehicle(session, SYSTEM, driver, vehicle.id)
    vehicles.add_vehicle(session, SYSTEM, driver, model="解放 J6")
    session.flush()
    deliver_events(database)
    assert balances(session, driver) == (700, 0)
    assert len(grants_of(session, driver, "profile-completed")) == 1


# --- monthly diesel task -----------------------------------------------------------------------


def month_start(months_ahead: int) -> date:
    today = datetime.now(chain_zone()).date()
    index = today.year * 12 + today.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def test_200_liters_of_diesel_in_a_beijing_month_earns_300_once_a_month(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    month = month_start(2)
    next_month = month_start(3)

    def sale_at(moment: datetime, grade: str, liters: str) -> int:
        """Commit a sale at ``moment``; the points it added beyond its own earning."""
        with time_machine.travel(moment, tick=False):
            before = points_of(session, driver)
            response = terminal.commit(terminal.basket(fuel(grade, liters), member=driver))
        assert response.status_code == 201, response.json()
        sale = response.json()
        return int(sale["member_after"]["points_available"] - before - sale["points_earned"]["total"])

    # 07:00 on the 1st in Beijing is still the previous month in UTC: it counts for this month
    assert sale_at(local(month, time(7)), "0", "120.00") == 0
    assert sale_at(local(month + timedelta(days=2), time(10)), "92", "100.00") == 0
    assert sale_at(local(month + timedelta(days=3), time(10)), "0", "80.00") == 300
    assert sale_at(local(month + timedelta(days=4), time(10)), "0", "100.00") == 0
    assert sale_at(local(next_month - timedelta(days=1), time(23, 30)), "0", "200.00") == 0
    # 00:30 on the 1st in Beijing is the previous month's last day in UTC: a new month here
    assert sale_at(local(next_month, time(0, 30)), "0", "199.99") == 0
    assert sale_at(local(next_month, time(0, 40)), "0", "0.01") == 300
    assert sale_at(local(next_month + timedelta(days=1), time(10)), "0", "200.00") == 0
    grants = grants_of(session, driver, "diesel-200l-monthly")
    assert [(g.source, g.points, g.status) for g in grants] == [
        (f"task:{month:%Y-%m}", 300, "posted"),
        (f"task:{next_month:%Y-%m}", 300, "posted"),
    ]
    assert [reason for reason, _, _ in ledger_reasons(session, driver)].count("reward.monthly_task") == 2
