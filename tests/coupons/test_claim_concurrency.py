"""Claims racing each other for real (committed transactions, one thread and one request per
claim), on SQLite and PostgreSQL alike: a template never issues more than its stock and a member
never holds more than the per-member limit; the claims that lose are refused with the coupon
errors, never a database error."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.coupons.models import Coupon, CouponStock
from forecourt.db.session import Database
from forecourt.members import member_auth
from tests.coupons.support import CLAIM, make_template
from tests.members.support import make_member

pytestmark = pytest.mark.committed


@dataclass(frozen=True)
class Centre:
    """A claimable template and signed-in members, all committed."""

    app: FastAPI
    template: str
    template_id: Any
    tokens: list[str]


def open_centre(database: Database, settings: Settings, members: int, **template: Any) -> Centre:
    app = create_app(settings, database=database)
    with database.transaction() as session:
        made = make_template(session, claimable=True, **template)
        tokens = []
        for _ in range(members):
            member = make_member(session, app.state.pii)
            # a member session as the SMS login issues it (40 SMS logins would only test the SMS limits)
            tokens.append(member_auth._issue(session, settings, member).access_token)
        return Centre(app, made.code, made.id, tokens)


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(0)`` … ``call(count - 1)`` on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(index: int) -> Any:
        start.wait(timeout=60)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def claim_all(centre: Centre, threads: int, token_of: Callable[[int], str]) -> list[tuple[int, str | None]]:
    """``threads`` claims at once, each on its own client; (status, error code) of each."""
    clients = [TestClient(centre.app, raise_server_exceptions=False) for _ in range(threads)]

    def claim(index: int) -> tuple[int, str | None]:
        response = clients[index].post(
            CLAIM, json={"template": centre.template}, headers={"Authorization": f"Bearer {token_of(index)}"}
        )
        body = response.json()
        return response.status_code, body["error"]["code"] if "error" in body else None

    try:
        return race(threads, claim)
    finally:
        for client in clients:
            client.close()


def issued(database: Database, centre: Centre) -> tuple[int, list[int]]:
    """Coupons of the template, and its stock rows."""
    with database.transaction(write=False) as session:
        coupons = session.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.template_id == centre.template_id)
        )
        stock = list(
            session.scalars(select(CouponStock.issued).where(CouponStock.template_id == centre.template_id))
        )
        return int(coupons or 0), stock


def test_forty_members_claiming_the_last_seven_coupons_at_once_get_exactly_seven(
    committed_database: Database, test_settings: Settings
) -> None:
    centre = open_centre(committed_database, test_settings, 40, total_stock=7)
    answers = claim_all(centre, 40, lambda index: centre.tokens[index])
    assert Counter(answers) == {(201, None): 7, (409, "coupon_out_of_stock"): 33}
    assert issued(committed_database, centre) == (7, [7])


def test_one_member_claiming_from_ten_places_at_once_gets_no_more_than_the_limit(
    committed_database: Database, test_settings: Settings
) -> None:
    centre = open_centre(committed_database, test_settings, 1, per_member_limit=2)
    answers = claim_all(centre, 10, lambda _index: centre.tokens[0])
    assert Counter(answers) == {(201, None): 2, (409, "coupon_limit_reached"): 8}
    assert issued(committed_database, centre) == (2, [])  # no stock: no counter row to update


def test_members_racing_for_a_small_stock_with_a_limit_never_pass_either(
    committed_database: Database, test_settings: Settings
) -> None:
    centre = open_centre(committed_database, test_settings, 4, total_stock=5, per_member_limit=2)
    answers = claim_all(centre, 16, lambda index: centre.tokens[index % 4])
    assert Counter(status for status, _ in answers) == {201: 5, 409: 11}
    assert {code for _, code in answers} <= {None, "coupon_out_of_stock", "coupon_limit_reached"}
    assert issued(committed_database, centre) == (5, [5])
