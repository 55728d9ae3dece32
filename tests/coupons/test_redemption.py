"""Coupons at the pump (C4, C5, SPEC §5 and §7): named and automatically chosen coupons on a quote
and a sale, every refusal with nothing changed, identify's usable coupons, two sales racing for one
coupon on both databases, and what refunds do with the coupons a sale used."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.coupons.models import Coupon
from forecourt.db.outbox import OutboxEvent
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import to_chain_time, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.pos.models import Sale
from forecourt.stations import service as stations
from tests.coupons.support import give_coupon, make_template
from tests.devices.support import IssuedCredential, issue
from tests.fixtures.builders import unique
from tests.members.support import earn_points, make_member
from tests.pos.support import Terminal, footprint, fuel, goods, points_of, priced_station

QUOTE = "/api/v1/pos/quote"
IDENTIFY = "/api/v1/pos/identify"

MakeMember = Callable[..., Member]


def with_coupons(
    terminal: Terminal,
    member: Member,
    *lines: dict[str, Any],
    coupons: str | list[Any],
    points: int | str = 0,
) -> dict[str, Any]:
    """A basket for ``member`` redeeming ``coupons`` (``"auto"`` or coupons / ids) and ``points``."""
    body = terminal.basket(*lines, member=member, points=points)
    body["redeem"]["coupons"] = (
        coupons if isinstance(coupons, str) else [str(getattr(c, "id", c)) for c in coupons]
    )
    return body


def coupon_now(session: Session, coupon_id: uuid.UUID) -> Coupon:
    session.expire_all()
    return session.get_one(Coupon, coupon_id)


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    found: dict[str, Any] = body["error"]
    return found


def coupon_lines(result: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(d["ref"], d["line_id"], d["amount_fen"]) for d in result["discounts"] if d["source"] == "coupon"]


# --- named coupons ---------------------------------------------------------------------------------


def test_named_coupons_apply_after_the_silver_discount_per_litre_then_percent_then_amount_off(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    silver = member(tier="silver")
    now = utcnow()
    amount_off = give_coupon(
        session,
        silver,
        make_template(session, terms={"amount_off_fen": 1500, "threshold_fen": 10_000}).code,
        now,
    )
    percent = give_coupon(
        session,
        silver,
        make_template(
            session,
            kind="percent_off",
            terms={"percent_off_bp": 1000, "cap_fen": 2000, "categories": ["fuel"]},
        ).code,
        now,
    )
    per_litre = give_coupon(
        session,
        silver,
        make_template(session, kind="per_liter", terms={"per_liter_fen": 50, "max_liters": "40"}).code,
        now,
    )
    # named in the "wrong" order: the set applies in SPEC §5 order whatever the order of the ids
    body = with_coupons(terminal, silver, fuel("92", "40.00"), coupons=[amount_off, percent, per_litre])

    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.json()
    result = quoted.json()
    # 40 L × ¥7.50 = ¥300.00; silver 2% → −¥6.00 = ¥294.00; per litre 40 × ¥0.50 → −¥20.00 = ¥274.00;
    # 10% of ¥274.00 = ¥27.40, capped at ¥20.00 = ¥254.00; 满100减15 → −¥15.00 = ¥239.00
    assert result["gross_fen"] == 30_000
    assert [d["source"] for d in result["discounts"]] == ["tier", "coupon", "coupon", "coupon"]
    assert result["discounts"][0]["amount_fen"] == 600
    assert coupon_lines(result) == [
        (str(per_litre.id), "1", 2000),
        (str(percent.id), "1", 2000),
        (str(amount_off.id), "1", 1500),
    ]
    assert result["lines"][0]["discount_fen"] == 6100
    assert result["lines"][0]["net_fen"] == 23_900
    assert result["due_fen"] == 23_900
    assert result["points_redeemed"] == 0
    assert coupon_now(session, percent.id).status == "available", "a quote changes nothing"

    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    assert sale["due_fen"] == 23_900
    assert coupon_lines(sale) == coupon_lines(result)
    # points on the ¥239.00 paid after coupons: 239 base × silver 1.2 = 286 (floor)
    assert sale["points_earned"]["total"] == 286
    assert sale["points_earned"] == result["points_earned"]
    for coupon, taken in ((per_litre, 2000), (percent, 2000), (amount_off, 1500)):
        used = coupon_now(session, coupon.id)
        assert used.status == "used"
        assert str(used.used_sale_id) == sale["id"]
        assert used.discount_fen == taken
        assert used.used_station == terminal.station


def test_points_are_earned_on_the_money_paid_after_coupons_and_points(
    terminal: Terminal, member: MakeMember, session: Session, signer: Signer
) -> None:
    regular = member()
    earn_points(session, signer, regular.id, 1_000)
    coupon = give_coupon(
        session, regular, make_template(session, terms={"amount_off_fen": 2000}).code, utcnow()
    )
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon], points=1_000)

    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    # ¥150.00 − ¥20.00 coupon − ¥10.00 points = ¥120.00 paid → 120 points
    assert sale["due_fen"] == 12_000
    assert sale["points_redeemed"] == 1_000
    assert sale["points_earned"]["total"] == 120
    assert points_of(session, regular) == 120
    completed = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.topic == "transaction.completed")
        .order_by(OutboxEvent.occurred_at)
    ).all()
    assert [e.payload["coupons"] for e in completed if e.payload["sale_id"] == sale["id"]] == [
        [str(coupon.id)]
    ]


def test_a_regional_coupon_is_used_at_any_station_of_its_region_only(
    terminal: Terminal, member: MakeMember, session: Session, app: FastAPI, client: TestClient
) -> None:
    regular = member()
    region = stations.create_region(session, SYSTEM, code=unique("R").upper(), name="昆明北区").code
    regional = make_template(session, terms={"amount_off_fen": 1000, "regions": [region]}).code
    coupon = give_coupon(session, regular, regional, utcnow())
    outside = terminal.quote(with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon]))
    assert error(outside)["details"]["reason"] == "wrong_station"

    inside = Terminal(client, issue(session, app, priced_station(session, region=region)))
    sold = inside.commit(with_coupons(inside, regular, fuel("92", "20.00"), coupons=[coupon]))
    assert sold.status_code == 201, sold.json()
    assert coupon_now(session, coupon.id).used_station == inside.station


def test_a_coupon_on_several_lines_is_shared_in_proportion_to_what_remains_of_each(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    coupon = give_coupon(
        session, regular, make_template(session, terms={"amount_off_fen": 1000}).code, utcnow()
    )
    body = with_coupons(terminal, regular, fuel("92", "10.00"), goods(unit_price_fen=2500), coupons=[coupon])
    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.json()
    # ¥75.00 and ¥25.00: the ¥10.00 is shared 750 / 250
    assert coupon_lines(quoted.json()) == [(str(coupon.id), "1", 750), (str(coupon.id), "2", 250)]
    assert quoted.json()["due_fen"] == 9_000
    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    assert coupon_now(session, coupon.id).discount_fen == 1000


# --- the best combination ----------------------------------------------------------------------------


def test_auto_picks_the_combination_that_saves_most_then_redeems_points(
    terminal: Terminal, member: MakeMember, session: Session, signer: Signer
) -> None:
    silver = member(tier="silver")
    earn_points(session, signer, silver.id, 3_050)
    now = utcnow()
    c100 = give_coupon(
        session,
        silver,
        make_template(session, terms={"amount_off_fen": 1500, "threshold_fen": 10_000}).code,
        now,
    )
    c200 = give_coupon(
        session,
        silver,
        make_template(session, terms={"amount_off_fen": 3000, "threshold_fen": 20_000}).code,
        now,
    )
    nine = give_coupon(
        session,
        silver,
        make_template(
            session,
            kind="percent_off",
            terms={"percent_off_bp": 1000, "cap_fen": 2000, "categories": ["fuel"]},
        ).code,
        now,
    )
    only_92 = give_coupon(
        session, silver, make_template(session, terms={"amount_off_fen": 5000, "grades": ["92"]}).code, now
    )
    expired = give_coupon(
        session, silver, make_template(session, terms={"amount_off_fen": 8000}).code, now - timedelta(days=40)
    )
    body = with_coupons(terminal, silver, fuel("95", "40.00"), coupons="auto", points="auto")

    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.json()
    result = quoted.json()
    # ¥320.00 − silver 2% (¥6.40) = ¥313.60; at most 3 coupons: 9折 capped at ¥20 → ¥293.60,
    # 满200减30 → ¥263.60, 满100减15 → ¥248.60 (the 92#-only one cannot apply, the ¥80 one expired);
    # then points "auto" on what remains: 3,000 of the 3,050 points (whole hundreds) pay ¥30.00
    assert result["gross_fen"] == 32_000
    assert {ref for ref, _, _ in coupon_lines(result)} == {str(nine.id), str(c200.id), str(c100.id)}
    assert [ref for ref, _, _ in coupon_lines(result)] == [str(nine.id), str(c200.id), str(c100.id)]
    assert [amount for _, _, amount in coupon_lines(result)] == [2000, 3000, 1500]
    assert str(only_92.id) not in {ref for ref, _, _ in coupon_lines(result)}
    assert str(expired.id) not in {ref for ref, _, _ in coupon_lines(result)}
    assert result["points_redeemed"] == 3_000
    assert result["due_fen"] == 31_360 - 6_500 - 3_000

    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    assert sold.json()["due_fen"] == result["due_fen"]
    assert {coupon_now(session, c.id).status for c in (c100, c200, nine)} == {"used"}
    assert coupon_now(session, only_92.id).status == "available"
    assert coupon_now(session, expired.id).status == "available"
    assert points_of(session, silver) == 50 + sold.json()["points_earned"]["total"]


def test_auto_prefers_the_coupon_that_expires_first_among_equals(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    now = utcnow()
    group = unique("G")
    later = give_coupon(
        session,
        regular,
        make_template(session, valid_days=30, terms={"amount_off_fen": 1000, "stack_group": group}).code,
        now,
    )
    sooner = give_coupon(
        session,
        regular,
        make_template(session, valid_days=5, terms={"amount_off_fen": 1000, "stack_group": group}).code,
        now,
    )
    same_template = make_template(session, valid_days=20, terms={"amount_off_fen": 500})
    one = give_coupon(session, regular, same_template.code, now - timedelta(days=3))
    two = give_coupon(session, regular, same_template.code, now)

    sold = terminal.commit(with_coupons(terminal, regular, fuel("92", "20.00"), coupons="auto"))
    assert sold.status_code == 201, sold.json()
    refs = {ref for ref, _, _ in coupon_lines(sold.json())}
    assert refs == {str(sooner.id), str(one.id)}
    assert sold.json()["due_fen"] == 15_000 - 1_500
    assert coupon_now(session, later.id).status == "available"
    assert coupon_now(session, two.id).status == "available"


def test_auto_spends_coupons_before_points_when_either_could_pay_the_sale(
    terminal: Terminal, member: MakeMember, session: Session, signer: Signer
) -> None:
    regular = member()
    earn_points(session, signer, regular.id, 50_000)
    coupon = give_coupon(
        session, regular, make_template(session, terms={"amount_off_fen": 2000}).code, utcnow()
    )
    quoted = terminal.quote(
        with_coupons(terminal, regular, fuel("92", "10.00"), coupons="auto", points="auto")
    )
    assert quoted.status_code == 200, quoted.json()
    # ¥75.00 either way: the coupon takes ¥20.00 and 5,500 points the rest, keeping 2,000 points
    assert coupon_lines(quoted.json()) == [(str(coupon.id), "1", 2000)]
    assert quoted.json()["points_redeemed"] == 5_500
    assert quoted.json()["due_fen"] == 0


def test_auto_with_no_usable_coupon_prices_the_basket_without_coupons(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    give_coupon(
        session,
        regular,
        make_template(session, terms={"amount_off_fen": 1000, "grades": ["98"]}).code,
        utcnow(),
    )
    quoted = terminal.quote(with_coupons(terminal, regular, fuel("92", "10.00"), coupons="auto"))
    assert quoted.status_code == 200, quoted.json()
    assert coupon_lines(quoted.json()) == []
    assert quoted.json()["due_fen"] == 7_500


# --- refusals: nothing changes -----------------------------------------------------------------------


def assert_refused_and_nothing_changed(
    terminal: Terminal,
    session: Session,
    body: dict[str, Any],
    code: str,
    reason: str | None,
    coupon_ids: list[uuid.UUID],
    owner: Member,
) -> dict[str, Any]:
    statuses = {cid: coupon_now(session, cid).status for cid in coupon_ids}
    held = points_of(session, owner)
    before = footprint(session)
    quoted = terminal.quote(body)
    sold = terminal.post(
        "/api/v1/pos/transactions",
        {**body, "pos_txn_id": terminal.next_txn(), "payments": [{"method": "cash", "amount_fen": 100}]},
        key=str(uuid.uuid4()),
    )
    for response in (quoted, sold):
        assert error(response)["code"] == code, response.json()
        if reason is not None:
            assert error(response)["details"]["reason"] == reason, response.json()
    assert footprint(session) == before
    assert {cid: coupon_now(session, cid).status for cid in coupon_ids} == statuses
    assert points_of(session, owner) == held
    return error(sold)


def test_another_members_coupon_or_an_unknown_id_is_not_found(
    terminal: Terminal, member: MakeMember, session: Session, signer: Signer
) -> None:
    buyer, other = member(), member()
    earn_points(session, signer, buyer.id, 500)
    theirs = give_coupon(session, other, make_template(session).code, utcnow())
    for named in (theirs.id, uuid.uuid4()):
        body = with_coupons(terminal, buyer, fuel("92", "20.00"), coupons=[named], points="auto")
        assert_refused_and_nothing_changed(
            terminal, session, body, "coupon_not_found", None, [theirs.id], buyer
        )
        assert terminal.quote(body).status_code == 404


def test_an_expired_coupon_is_refused(terminal: Terminal, member: MakeMember, session: Session) -> None:
    regular = member()
    old = give_coupon(
        session, regular, make_template(session, valid_days=10).code, utcnow() - timedelta(days=20)
    )
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[old])
    assert_refused_and_nothing_changed(terminal, session, body, "coupon_expired", None, [old.id], regular)


def test_a_used_coupon_cannot_be_used_again(terminal: Terminal, member: MakeMember, session: Session) -> None:
    regular = member()
    coupon = give_coupon(session, regular, make_template(session).code, utcnow())
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon])
    first = terminal.commit(body)
    assert first.status_code == 201, first.json()
    assert_refused_and_nothing_changed(
        terminal, session, body, "coupon_already_used", None, [coupon.id], regular
    )


def other_weekdays() -> list[int]:
    today = to_chain_time(utcnow()).isoweekday()
    return [day for day in range(1, 8) if day != today]


def template_for(reason: str, terms: dict[str, Any] | None) -> dict[str, Any]:
    if reason == "wrong_day":
        return {"terms": {"amount_off_fen": 1000, "weekdays": other_weekdays()}}
    if reason == "not_yet_valid":
        now = utcnow()
        return {
            "valid_days": None,
            "valid_from": now + timedelta(days=2),
            "valid_until": now + timedelta(days=30),
        }
    if reason == "wrong_time":
        local = to_chain_time(utcnow())
        later = [(local + timedelta(hours=hours)).time().replace(second=0, microsecond=0) for hours in (2, 3)]
        window = {"time_from": later[0].isoformat(), "time_to": later[1].isoformat()}
        return {"terms": {"amount_off_fen": 1000, **window}}
    return {"terms": terms}


@pytest.mark.parametrize(
    ("reason", "terms", "line"),
    [
        ("wrong_grade", {"amount_off_fen": 1000, "grades": ["95"]}, fuel("92", "20.00")),
        ("wrong_station", {"amount_off_fen": 1000, "stations": ["NOWHERE1"]}, fuel("92", "20.00")),
        ("below_threshold", {"amount_off_fen": 3000, "threshold_fen": 20_000}, fuel("92", "20.00")),
        ("wrong_day", None, fuel("92", "20.00")),
        ("wrong_tier", {"amount_off_fen": 1000, "tiers": ["gold", "diamond"]}, fuel("92", "20.00")),
        ("not_yet_valid", None, fuel("92", "20.00")),
        ("wrong_time", None, fuel("92", "20.00")),
        ("wrong_category", {"amount_off_fen": 1000, "categories": ["car_wash"]}, fuel("92", "20.00")),
    ],
)
def test_a_coupon_that_does_not_fit_the_sale_is_not_applicable_with_the_reason(
    terminal: Terminal,
    member: MakeMember,
    session: Session,
    reason: str,
    terms: dict[str, Any] | None,
    line: dict[str, Any],
) -> None:
    regular = member()
    coupon = give_coupon(
        session,
        regular,
        make_template(session, **template_for(reason, terms)).code,
        utcnow(),
    )
    body = with_coupons(terminal, regular, line, coupons=[coupon])
    refused = assert_refused_and_nothing_changed(
        terminal, session, body, "coupon_not_applicable", reason, [coupon.id], regular
    )
    assert refused["details"]["coupon_id"] == str(coupon.id)


def test_an_exclusive_coupon_stands_alone(terminal: Terminal, member: MakeMember, session: Session) -> None:
    regular = member()
    now = utcnow()
    alone = give_coupon(
        session, regular, make_template(session, terms={"amount_off_fen": 1000, "exclusive": True}).code, now
    )
    other = give_coupon(session, regular, make_template(session).code, now)
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[alone, other])
    assert_refused_and_nothing_changed(
        terminal, session, body, "coupon_not_applicable", "exclusive_conflict", [alone.id, other.id], regular
    )


def test_two_percent_off_coupons_exclude_each_other(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    now = utcnow()
    nine = give_coupon(
        session, regular, make_template(session, kind="percent_off", terms={"percent_off_bp": 1000}).code, now
    )
    eighty_five = give_coupon(
        session, regular, make_template(session, kind="percent_off", terms={"percent_off_bp": 1500}).code, now
    )
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[nine, eighty_five])
    assert_refused_and_nothing_changed(
        terminal,
        session,
        body,
        "coupon_not_applicable",
        "exclusive_conflict",
        [nine.id, eighty_five.id],
        regular,
    )


def test_more_coupons_than_one_order_allows_are_refused(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    now = utcnow()
    four = [
        give_coupon(session, regular, make_template(session, terms={"amount_off_fen": 100}).code, now)
        for _ in range(4)
    ]
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=four)
    assert_refused_and_nothing_changed(
        terminal, session, body, "coupon_not_applicable", "too_many_coupons", [c.id for c in four], regular
    )


def test_a_refused_coupon_also_leaves_the_points_and_the_other_coupons_alone(
    terminal: Terminal, member: MakeMember, session: Session, signer: Signer
) -> None:
    regular = member()
    earn_points(session, signer, regular.id, 2_000)
    now = utcnow()
    good = give_coupon(session, regular, make_template(session).code, now)
    bad = give_coupon(
        session, regular, make_template(session, terms={"amount_off_fen": 500, "grades": ["98"]}).code, now
    )
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[good, bad], points=1_000)
    assert_refused_and_nothing_changed(
        terminal, session, body, "coupon_not_applicable", "wrong_grade", [good.id, bad.id], regular
    )


def test_coupons_need_an_identified_member(terminal: Terminal, member: MakeMember, session: Session) -> None:
    regular = member()
    coupon = give_coupon(session, regular, make_template(session).code, utcnow())
    body = terminal.basket(fuel("92", "20.00"))
    body["redeem"]["coupons"] = [str(coupon.id)]
    assert error(terminal.quote(body))["code"] == "coupon_not_found"
    body["redeem"]["coupons"] = "auto"
    assert terminal.quote(body).json()["due_fen"] == 15_000


# --- identify ---------------------------------------------------------------------------------------------


def test_identify_lists_the_coupons_usable_here_and_now(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    now = utcnow()
    soon = give_coupon(session, regular, make_template(session, valid_days=3, name="满100减15").code, now)
    later = give_coupon(
        session,
        regular,
        make_template(session, kind="percent_off", valid_days=20, terms={"percent_off_bp": 1000}).code,
        now,
    )
    here_only = give_coupon(
        session,
        regular,
        make_template(session, terms={"amount_off_fen": 500, "stations": [terminal.station]}).code,
        now,
    )
    give_coupon(
        session,
        regular,
        make_template(session, terms={"amount_off_fen": 500, "stations": ["ELSEWHERE"]}).code,
        now,
    )
    give_coupon(session, regular, make_template(session, valid_days=5).code, now - timedelta(days=10))
    used = give_coupon(session, regular, make_template(session).code, now)
    assert (
        terminal.commit(with_coupons(terminal, regular, fuel("92", "10.00"), coupons=[used])).status_code
        == 201
    )

    found = terminal.post(
        IDENTIFY, {"station": terminal.station, "identifier": {"type": "card_no", "value": regular.card_no}}
    )
    assert found.status_code == 200, found.json()
    listed = found.json()["coupons"]
    assert [c["id"] for c in listed] == [str(soon.id), str(later.id), str(here_only.id)]
    first = listed[0]
    assert set(first) >= {"id", "title", "kind", "expires_at"}
    assert first["title"] == "满100减15"
    assert first["kind"] == "amount_off"
    assert listed[1]["kind"] == "percent_off"
    assert datetime.fromisoformat(first["expires_at"]) == soon.expires_at


# --- refunds -------------------------------------------------------------------------------------------


def test_a_full_refund_gives_a_still_valid_coupon_back_to_use_again(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    coupon = give_coupon(session, regular, make_template(session).code, utcnow())
    body = with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon])
    sold = terminal.commit(body)
    assert sold.status_code == 201, sold.json()
    stored = terminal.get(f"/api/v1/pos/transactions/{sold.json()['id']}")
    assert coupon_lines(stored.json()) == [(str(coupon.id), "1", 1000)]

    refunded = terminal.refund(sold.json()["id"])
    assert refunded.status_code == 200, refunded.json()
    summary = refunded.json()["refund"]
    assert summary["full"] is True
    assert summary["refunded_fen"] == 14_000
    assert summary["coupons"] == [{"coupon_id": str(coupon.id), "status": "available"}]
    back = coupon_now(session, coupon.id)
    assert (back.status, back.used_sale_id, back.discount_fen) == ("available", None, None)
    assert back.returned_at is not None

    again = terminal.commit(body)
    assert again.status_code == 201, again.json()
    assert coupon_lines(again.json()) == [(str(coupon.id), "1", 1000)]
    assert str(coupon_now(session, coupon.id).used_sale_id) == again.json()["id"]


def test_a_coupon_expired_by_the_time_of_a_full_refund_is_refunded_expired(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    coupon = give_coupon(session, regular, make_template(session, valid_days=1).code, utcnow())
    sold = terminal.commit(with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon]))
    assert sold.status_code == 201, sold.json()

    with time_machine.travel(utcnow() + timedelta(days=3), tick=False):
        refunded = terminal.refund(sold.json()["id"])
    assert refunded.status_code == 200, refunded.json()
    assert refunded.json()["refund"]["coupons"] == [
        {"coupon_id": str(coupon.id), "status": "refunded_expired"}
    ]
    assert coupon_now(session, coupon.id).status == "refunded_expired"
    assert coupon_now(session, coupon.id).discount_fen == 1000
    stale = terminal.quote(with_coupons(terminal, regular, fuel("92", "20.00"), coupons=[coupon]))
    assert error(stale)["code"] == "coupon_expired"


def test_a_partial_refund_keeps_the_coupon_used(
    terminal: Terminal, member: MakeMember, session: Session
) -> None:
    regular = member()
    coupon = give_coupon(session, regular, make_template(session).code, utcnow())
    sold = terminal.commit(
        with_coupons(
            terminal, regular, fuel("92", "20.00"), goods(unit_price_fen=3000, quantity=2), coupons=[coupon]
        )
    )
    assert sold.status_code == 201, sold.json()

    partial = terminal.refund(sold.json()["id"], lines=[{"line_id": "2", "quantity": 1}])
    assert partial.status_code == 200, partial.json()
    assert partial.json()["refund"]["full"] is False
    assert partial.json()["refund"]["coupons"] == []
    assert coupon_now(session, coupon.id).status == "used"

    rest = terminal.refund(sold.json()["id"])
    assert rest.status_code == 200, rest.json()
    assert rest.json()["refund"]["full"] is True
    assert rest.json()["refund"]["coupons"] == [{"coupon_id": str(coupon.id), "status": "available"}]
    assert coupon_now(session, coupon.id).status == "available"


# --- concurrency: one coupon, many tills ----------------------------------------------------------------

RACERS = 8


@pytest.mark.committed
@pytest.mark.parametrize("racers", [2, RACERS])
def test_sales_racing_for_one_coupon_use_it_exactly_once(
    committed_database: Database, test_settings: Settings, racers: int
) -> None:
    app = create_app(test_settings, database=committed_database)
    with committed_database.transaction() as session:
        station = priced_station(session, code=unique("S"))
        issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name="till")
        credential = IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station)
        owner = make_member(session, app.state.pii)
        coupon = give_coupon(
            session, owner, make_template(session, terms={"amount_off_fen": 1000}).code, utcnow()
        )
        member_id, coupon_id = owner.id, coupon.id

    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(racers)]
    tills = [Terminal(client, credential) for client in clients]
    start = Barrier(racers)

    def sell(index: int) -> Any:
        till = tills[index]
        body = till.basket(fuel("92", "20.00"))
        body["member"] = {"type": "member_id", "value": str(member_id)}
        body["redeem"]["coupons"] = [str(coupon_id)]
        sale = {**body, "pos_txn_id": till.next_txn(), "payments": [{"method": "cash", "amount_fen": 14_000}]}
        start.wait(timeout=30)
        return till.post("/api/v1/pos/transactions", sale, key=str(uuid.uuid4()))

    try:
        with ThreadPoolExecutor(max_workers=racers) as pool:
            responses = list(pool.map(sell, range(racers)))
    finally:
        for client in clients:
            client.close()

    answers = sorted(((r.status_code, r.json().get("error", {}).get("code")) for r in responses), key=str)
    assert answers == sorted([(201, None)] + [(409, "coupon_already_used")] * (racers - 1), key=str), [
        r.json() for r in responses
    ]
    won = next(r.json() for r in responses if r.status_code == 201)
    with committed_database.transaction(write=False) as session:
        used = session.get_one(Coupon, coupon_id)
        assert used.status == "used"
        assert str(used.used_sale_id) == won["id"]
        assert session.scalar(select(func.count()).select_from(Sale).where(Sale.member_id == member_id)) == 1
