"""Coupon templates and packs (C1, C2) and issuing coupons (C3, C7): claims in the coupon centre,
printed batch codes, points exchange, campaigns, the new-member pack, birthday coupons and coupons
granted by earning rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.config import Settings
from forecourt.coupons import issuance, templates
from forecourt.coupons.errors import CouponLimitReached, CouponOutOfStock
from forecourt.coupons.models import Coupon, CouponStock, CouponTemplate
from forecourt.db.outbox import Event, OutboxEvent
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import chain_zone, utcnow
from forecourt.ledger.chain import Signer
from forecourt.members import tags
from forecourt.members.models import Member
from forecourt.rules import hooks
from forecourt.rules import service as rules
from forecourt.rules.hooks import HookContext
from forecourt.rules.schemas import RuleDocument
from tests.conftest import RollbackDatabase
from tests.coupons.support import (
    BATCHES,
    CENTRE,
    CLAIM,
    EXCHANGE,
    MY_COUPONS,
    REDEEM_CODE,
    TEMPLATES,
    error_of,
    give_coupon,
    make_template,
    template_code,
    template_document,
)
from tests.members.support import MemberLogin, earn_points
from tests.pos.support import Terminal, deliver_events, fuel, points_of

Staff = Callable[..., Any]


def beijing(text: str) -> datetime:
    """``2026-11-08 00:01`` in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=chain_zone())


def coupons_of(session: Session, member_id: uuid.UUID | str, template: str | None = None) -> list[Coupon]:
    session.expire_all()
    query = select(Coupon).where(Coupon.member_id == uuid.UUID(str(member_id)))
    if template is not None:
        query = query.join(CouponTemplate, CouponTemplate.id == Coupon.template_id).where(
            CouponTemplate.code == template
        )
    return list(session.scalars(query))


def audits(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def claim(client: TestClient, login: MemberLogin, code: str) -> Any:
    return client.post(CLAIM, json={"template": code}, headers=login.headers)


# --- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "terms", "face_value"),
    [
        ("amount_off", {"amount_off_fen": 1500, "threshold_fen": 10000}, 1500),
        ("percent_off", {"percent_off_bp": 1000, "cap_fen": 2000, "categories": ["fuel"]}, 2000),
        ("per_liter", {"per_liter_fen": 30, "max_liters": "50", "grades": ["95"]}, 1500),
        ("voucher", {"categories": ["car_wash"], "amount_off_fen": 4000}, 4000),
    ],
)
def test_marketing_creates_a_template_of_each_kind(
    client: TestClient, staff: Staff, kind: str, terms: dict[str, Any], face_value: int
) -> None:
    headers = staff("marketing").headers
    body = template_document(kind=kind, terms=terms)
    response = client.post(TEMPLATES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["code"], created["kind"], created["status"]) == (body["code"], kind, "active")
    assert created["face_value_fen"] == face_value
    assert created["issued_count"] == 0
    fetched = client.get(f"{TEMPLATES}/{body['code']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json()["terms"] == created["terms"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "amount_off", "terms": {"threshold_fen": 10000}},
        {"kind": "percent_off", "terms": {"percent_off_bp": 0}},
        {"kind": "per_liter", "terms": {"per_liter_fen": 0}},
        {"kind": "voucher", "terms": {"amount_off_fen": 4000}},
        {"valid_days": None},
        {
            "valid_days": None,
            "valid_from": "2026-12-01T00:00:00+08:00",
            "valid_until": "2026-11-01T00:00:00+08:00",
        },
        {"funder": "partner"},
        {"member_day": True, "claimable": False},
    ],
    ids=[
        "amount_off_without_amount",
        "percent_off_without_percent",
        "per_liter_without_amount",
        "voucher_without_goods",
        "no_validity",
        "validity_ends_before_it_starts",
        "partner_without_partner",
        "member_day_not_claimable",
    ],
)
def test_an_invalid_template_is_refused_and_nothing_is_written(
    client: TestClient, session: Session, staff: Staff, overrides: dict[str, Any]
) -> None:
    headers = staff("marketing").headers
    body = template_document(**overrides)
    audited = len(audits(session, "coupon_template.create"))
    response = client.post(TEMPLATES, json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_coupon_template"
    assert error_of(client.get(f"{TEMPLATES}/{body['code']}", headers=headers))["code"] == (
        "coupon_template_not_found"
    )
    assert len(audits(session, "coupon_template.create")) == audited


def test_a_second_template_with_the_same_code_is_refused(client: TestClient, staff: Staff) -> None:
    headers = staff("marketing").headers
    body = template_document()
    assert client.post(TEMPLATES, json=body, headers=headers).status_code == 201
    again = client.post(TEMPLATES, json={**body, "name": "另一张"}, headers=headers)
    assert again.status_code == 409
    assert error_of(again)["code"] == "coupon_template_exists"
    assert client.get(f"{TEMPLATES}/{body['code']}", headers=headers).json()["name"] == body["name"]


def test_changing_stock_and_retiring_a_template_are_audited(
    client: TestClient, session: Session, staff: Staff
) -> None:
    headers = staff("marketing").headers
    template = make_template(session, total_stock=100)
    changed = client.patch(f"{TEMPLATES}/{template.code}", json={"total_stock": 50}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["total_stock"] == 50
    retired = client.patch(f"{TEMPLATES}/{template.code}", json={"status": "retired"}, headers=headers)
    assert retired.json()["status"] == "retired"
    entries = [e for e in audits(session, "coupon_template.change") if e.entity_id == str(template.id)]
    assert [(e.before, e.after) for e in sorted(entries, key=lambda e: e.occurred_at)] == [
        ({"total_stock": 100}, {"total_stock": 50}),
        ({"status": "active"}, {"status": "retired"}),
    ]


def test_the_template_list_shows_how_many_coupons_were_issued(
    client: TestClient, session: Session, staff: Staff, member: Callable[..., Member]
) -> None:
    template = make_template(session)
    for _ in range(3):
        give_coupon(session, member(), template.code, utcnow())
    listed = client.get(TEMPLATES, headers=staff("finance").headers)
    assert listed.status_code == 200
    assert {row["code"]: row["issued_count"] for row in listed.json()}[template.code] == 3


def test_the_default_templates_and_the_188_yuan_new_member_pack_exist_after_migrate(
    client: TestClient, staff: Staff
) -> None:
    headers = staff("marketing").headers
    codes = {row["code"] for row in client.get(TEMPLATES, headers=headers).json()}
    assert {document["code"] for document in templates.DEFAULT_TEMPLATES} <= codes
    assert {"BIRTHDAY", "WASH-FREE", "MEMBER-DAY"} <= codes
    pack = client.get("/api/v1/coupon-packs/NEW-MEMBER", headers=headers)
    assert pack.status_code == 200
    assert pack.json()["face_value_fen"] == 18800
    assert sum(item["count"] for item in pack.json()["items"]) == 9
    wash = client.get(f"{TEMPLATES}/WASH-FREE", headers=headers).json()
    assert wash["points_price"] == 5000


# --- claims in the coupon centre ---------------------------------------------------------------------


def test_a_member_claims_a_coupon_from_the_coupon_centre(
    client: TestClient, session: Session, member_token: MemberLogin
) -> None:
    template = make_template(session, claimable=True, total_stock=10, per_member_limit=2)
    centre = {row["template"]: row for row in client.get(CENTRE, headers=member_token.headers).json()}
    assert centre[template.code]["open_now"] is True
    assert (centre[template.code]["left"], centre[template.code]["held"]) == (10, 0)
    response = claim(client, member_token, template.code)
    assert response.status_code == 201, response.text
    assert (response.json()["template"], response.json()["status"]) == (template.code, "available")
    assert response.json()["channel"] == "claim"
    centre = {row["template"]: row for row in client.get(CENTRE, headers=member_token.headers).json()}
    assert (centre[template.code]["left"], centre[template.code]["held"]) == (9, 1)
    mine = client.get(MY_COUPONS, headers=member_token.headers).json()
    assert [row["id"] for row in mine if row["template"] == template.code] == [response.json()["id"]]


def test_a_coupon_cannot_be_claimed_before_its_claim_window_opens_or_after_it_closes(
    client: TestClient, session: Session, member_token: MemberLogin
) -> None:
    now = utcnow()
    early = make_template(session, claimable=True, claim_from=now + timedelta(days=1))
    late = make_template(
        session, claimable=True, claim_from=now - timedelta(days=10), claim_until=now - timedelta(minutes=1)
    )
    for template, reason in ((early, "not_open_yet"), (late, "closed")):
        response = claim(client, member_token, template.code)
        assert response.status_code == 409
        assert error_of(response)["code"] == "coupon_not_claimable"
        assert error_of(response)["details"]["reason"] == reason
    assert coupons_of(session, member_token.member_id) == []
    centre = {row["template"]: row for row in client.get(CENTRE, headers=member_token.headers).json()}
    assert centre[early.code]["open_now"] is False
    assert late.code not in centre


def test_a_coupon_whose_validity_has_ended_is_no_longer_offered_or_claimed(
    client: TestClient, session: Session, member_token: MemberLogin
) -> None:
    now = utcnow()
    ended = make_template(
        session,
        claimable=True,
        valid_days=None,
        valid_from=(now - timedelta(days=30)).isoformat(),
        valid_until=(now - timedelta(days=1)).isoformat(),
    )
    response = claim(client, member_token, ended.code)
    assert response.status_code == 409
    assert error_of(response)["details"]["reason"] == "closed"
    assert ended.code not in {
        row["template"] for row in client.get(CENTRE, headers=member_token.headers).json()
    }
    assert coupons_of(session, member_token.member_id) == []


def test_a_claim_window_that_ends_before_it_opens_is_refused(
    client: TestClient, session: Session, staff: Staff
) -> None:
    now = utcnow()
    template = make_template(session, claimable=True, claim_from=(now + timedelta(days=5)).isoformat())
    response = client.patch(
        f"{TEMPLATES}/{template.code}",
        json={"claim_until": (now + timedelta(days=1)).isoformat()},
        headers=staff("marketing").headers,
    )
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_coupon_template"
    session.expire_all()
    assert session.get_one(CouponTemplate, template.id).claim_until is None


def test_a_retired_template_and_a_template_not_in_the_centre_cannot_be_claimed(
    client: TestClient, session: Session, staff: Staff, member_token: MemberLogin
) -> None:
    retired = make_template(session, claimable=True)
    hidden = make_template(session)
    client.patch(
        f"{TEMPLATES}/{retired.code}", json={"status": "retired"}, headers=staff("marketing").headers
    )
    assert error_of(claim(client, member_token, retired.code))["details"]["reason"] == "retired"
    assert error_of(claim(client, member_token, hidden.code))["details"]["reason"] == "not_claimable"
    centre = {row["template"] for row in client.get(CENTRE, headers=member_token.headers).json()}
    assert retired.code not in centre
    assert hidden.code not in centre


def test_a_member_claims_no_more_than_the_per_member_limit(
    client: TestClient, session: Session, member_token: MemberLogin
) -> None:
    template = make_template(session, claimable=True, per_member_limit=2)
    assert [claim(client, member_token, template.code).status_code for _ in range(2)] == [201, 201]
    third = claim(client, member_token, template.code)
    assert third.status_code == 409
    assert error_of(third)["code"] == "coupon_limit_reached"
    assert len(coupons_of(session, member_token.member_id, template.code)) == 2


def test_nobody_claims_once_the_stock_is_gone(
    client: TestClient, session: Session, member_auth: Callable[..., MemberLogin]
) -> None:
    template = make_template(session, claimable=True, total_stock=2)
    logins = [member_auth() for _ in range(3)]
    answers = [claim(client, login, template.code) for login in logins]
    assert [answer.status_code for answer in answers] == [201, 201, 409]
    assert error_of(answers[2])["code"] == "coupon_out_of_stock"
    session.expire_all()
    assert session.scalar(select(CouponStock.issued).where(CouponStock.template_id == template.id)) == 2


def test_a_coupon_valid_three_days_ends_when_the_third_following_beijing_day_begins(
    client: TestClient, session: Session, member_auth: Callable[..., MemberLogin]
) -> None:
    template = make_template(session, claimable=True, valid_days=3)
    # 23:30 in Beijing is 15:30 UTC: the days are counted in Beijing, not in UTC
    with time_machine.travel(beijing("2026-11-10 23:30"), tick=False):
        login = member_auth()
        response = claim(client, login, template.code)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["valid_from"]) == beijing("2026-11-10 23:30")
    assert datetime.fromisoformat(response.json()["expires_at"]) == beijing("2026-11-13 00:00")


def test_a_coupon_valid_n_days_never_outlives_the_templates_end(
    client: TestClient, session: Session, member_auth: Callable[..., MemberLogin]
) -> None:
    template = make_template(
        session, claimable=True, valid_days=30, valid_until=beijing("2026-11-20 00:00").isoformat()
    )
    with time_machine.travel(beijing("2026-11-10 12:00"), tick=False):
        response = claim(client, member_auth(), template.code)
    assert datetime.fromisoformat(response.json()["expires_at"]) == beijing("2026-11-20 00:00")


def test_member_day_coupons_are_claimed_only_on_the_8th_in_beijing(
    client: TestClient, session: Session, member_auth: Callable[..., MemberLogin]
) -> None:
    template = make_template(session, claimable=True, member_day=True, per_member_limit=1)
    # 7 Nov 23:59 in Beijing is already 7 Nov 15:59 UTC; 8 Nov 00:01 Beijing is still the 7th in UTC
    with time_machine.travel(beijing("2026-11-07 23:59"), tick=False):
        login = member_auth()
        centre = {row["template"]: row for row in client.get(CENTRE, headers=login.headers).json()}
        assert centre[template.code]["open_now"] is False
        refused = claim(client, login, template.code)
        assert error_of(refused)["code"] == "coupon_not_claimable"
        assert error_of(refused)["details"]["reason"] == "not_member_day"
    with time_machine.travel(beijing("2026-11-08 00:01"), tick=False):
        accepted = claim(client, login, template.code)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["channel"] == "member_day"
    with time_machine.travel(beijing("2026-11-09 00:00"), tick=False):
        later = member_auth()
        assert error_of(claim(client, later, template.code))["details"]["reason"] == "not_member_day"


def test_member_day_stock_and_limits_start_again_each_month(
    session: Session, member: Callable[..., Member]
) -> None:
    template = make_template(session, claimable=True, member_day=True, total_stock=1, per_member_limit=1)
    first, second = member(), member()
    november, december = beijing("2026-11-08 10:00"), beijing("2026-12-08 10:00")
    issuance.claim(session, SYSTEM, first.id, template.code, november)
    with pytest.raises(CouponOutOfStock):
        issuance.claim(session, SYSTEM, second.id, template.code, november)
    issuance.claim(session, SYSTEM, first.id, template.code, december)
    with pytest.raises(CouponLimitReached):
        issuance.claim(session, SYSTEM, first.id, template.code, december)
    stock = dict(
        session.execute(
            select(CouponStock.period, CouponStock.issued).where(CouponStock.template_id == template.id)
        ).all()
    )
    assert stock == {"2026-11": 1, "2026-12": 1}


# --- printed batch codes -----------------------------------------------------------------------------


def test_a_batch_makes_unique_twelve_character_codes_and_takes_their_stock(
    client: TestClient, session: Session, staff: Staff
) -> None:
    headers = staff("marketing").headers
    template = make_template(session, total_stock=60)
    response = client.post(
        f"{TEMPLATES}/{template.code}/batches", json={"size": 50, "note": "印刷"}, headers=headers
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["template"], batch["size"], batch["claimed"]) == (template.code, 50, 0)
    exported = client.get(f"{BATCHES}/{batch['id']}/codes.csv", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0] == "code,template,status,expires_at"
    codes = [line.split(",")[0] for line in lines[1:]]
    assert len(codes) == len(set(codes)) == 50
    assert all(len(code) == 12 and set(code) <= set(issuance.CODE_ALPHABET) for code in codes)
    assert [e.entity_id for e in audits(session, "coupon_batch.export")] == [batch["id"]]
    assert client.get(f"{TEMPLATES}/{template.code}", headers=headers).json()["issued_count"] == 50
    too_many = client.post(f"{TEMPLATES}/{template.code}/batches", json={"size": 11}, headers=headers)
    assert error_of(too_many)["code"] == "coupon_out_of_stock"


def test_a_member_redeems_a_printed_code_once(
    client: TestClient, session: Session, staff: Staff, member_auth: Callable[..., MemberLogin]
) -> None:
    headers = staff("marketing").headers
    template = make_template(session, valid_days=7)
    batch = client.post(f"{TEMPLATES}/{template.code}/batches", json={"size": 3}, headers=headers).json()
    code = (
        client.get(f"{BATCHES}/{batch['id']}/codes.csv", headers=headers).text.splitlines()[1].split(",")[0]
    )
    typed = "-".join(code[i : i + 4] for i in range(0, 12, 4)).lower()
    first, second = member_auth(), member_auth()
    redeemed = client.post(REDEEM_CODE, json={"code": typed}, headers=first.headers)
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["status"] == "available"
    own_code = redeemed.json()["code"]
    assert own_code != code  # others saw the printed code: the member's coupon gets its own
    assert redeemed.json()["expires_at"] is not None
    assert client.get(f"{BATCHES}/{batch['id']}", headers=headers).json()["claimed"] == 1
    again = client.post(REDEEM_CODE, json={"code": code}, headers=second.headers)
    assert again.status_code == 409
    assert error_of(again)["code"] == "coupon_code_claimed"
    unknown = client.post(REDEEM_CODE, json={"code": "ZZZZ-ZZZZ-ZZZZ"}, headers=second.headers)
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "coupon_not_found"
    assert coupons_of(session, second.member_id) == []
    assert [c.code for c in coupons_of(session, first.member_id)] == [own_code]
    remaining = client.get(f"{BATCHES}/{batch['id']}/codes.csv", headers=headers).text.splitlines()[1:]
    assert code not in {line.split(",")[0] for line in remaining}
    assert len(remaining) == 2


# --- points exchange --------------------------------------------------------------------------------


def test_a_member_buys_a_car_wash_coupon_with_5000_points(
    client: TestClient, session: Session, signer: Signer, member_token: MemberLogin
) -> None:
    earn_points(session, signer, member_token.member_id, 6000)
    response = client.post(EXCHANGE, json={"template": "WASH-FREE"}, headers=member_token.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["template"], response.json()["channel"]) == ("WASH-FREE", "exchange")
    member = session.get_one(Member, uuid.UUID(member_token.member_id))
    assert points_of(session, member) == 1000
    assert len(coupons_of(session, member_token.member_id, "WASH-FREE")) == 1


def test_without_enough_points_there_is_no_coupon_and_no_points_spent(
    client: TestClient, session: Session, signer: Signer, member_token: MemberLogin
) -> None:
    earn_points(session, signer, member_token.member_id, 4999)
    response = client.post(EXCHANGE, json={"template": "WASH-FREE"}, headers=member_token.headers)
    assert response.status_code == 409, response.text
    assert error_of(response)["code"] == "insufficient_points"
    member = session.get_one(Member, uuid.UUID(member_token.member_id))
    assert points_of(session, member) == 4999
    assert coupons_of(session, member_token.member_id, "WASH-FREE") == []


def test_a_coupon_without_a_points_price_cannot_be_bought_with_points(
    client: TestClient, session: Session, signer: Signer, member_token: MemberLogin
) -> None:
    earn_points(session, signer, member_token.member_id, 10_000)
    template = make_template(session)
    response = client.post(EXCHANGE, json={"template": template.code}, headers=member_token.headers)
    assert response.status_code == 409
    assert error_of(response)["code"] == "coupon_not_exchangeable"
    assert coupons_of(session, member_token.member_id) == []


# --- campaigns ---------------------------------------------------------------------------------------


def test_a_campaign_gives_each_named_member_one_coupon_however_often_it_is_run(
    client: TestClient, session: Session, staff: Staff, member: Callable[..., Member]
) -> None:
    headers = staff("marketing").headers
    template = make_template(session)
    drivers = [member() for _ in range(3)]
    body = {"member_ids": [str(d.id) for d in drivers], "campaign": "双十一"}
    first = client.post(f"{TEMPLATES}/{template.code}/issue", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"issued": 3, "already_issued": 0, "refused": {}}
    again = client.post(f"{TEMPLATES}/{template.code}/issue", json=body, headers=headers)
    assert again.json() == {"issued": 0, "already_issued": 3, "refused": {}}
    assert [len(coupons_of(session, d.id)) for d in drivers] == [1, 1, 1]
    assert {c.channel for d in drivers for c in coupons_of(session, d.id)} == {"campaign"}
    assert len([e for e in audits(session, "coupon.issue") if e.entity_id == str(template.id)]) == 2


def test_a_campaign_by_tag_reaches_the_tagged_members_and_counts_the_refused(
    client: TestClient, session: Session, staff: Staff, member: Callable[..., Member]
) -> None:
    headers = staff("marketing").headers
    template = make_template(session, total_stock=2)
    tag = f"vip{uuid.uuid4().hex[:6]}"
    tags.create_tag(session, SYSTEM, code=tag, name="VIP")
    tagged = [member() for _ in range(3)]
    untagged = member()
    for driver in tagged:
        tags.assign(session, SYSTEM, driver, tag)
    session.flush()
    response = client.post(
        f"{TEMPLATES}/{template.code}/issue", json={"tag": tag, "campaign": "vip-11"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"issued": 2, "already_issued": 0, "refused": {"coupon_out_of_stock": 1}}
    assert sum(len(coupons_of(session, d.id)) for d in tagged) == 2
    assert coupons_of(session, untagged.id) == []


def test_a_campaign_of_a_retired_template_issues_nothing(
    client: TestClient, session: Session, staff: Staff, member: Callable[..., Member]
) -> None:
    headers = staff("marketing").headers
    template = make_template(session)
    client.patch(f"{TEMPLATES}/{template.code}", json={"status": "retired"}, headers=headers)
    driver = member()
    response = client.post(
        f"{TEMPLATES}/{template.code}/issue",
        json={"member_ids": [str(driver.id)], "campaign": "late"},
        headers=headers,
    )
    assert response.json() == {"issued": 0, "already_issued": 0, "refused": {"coupon_not_claimable": 1}}
    assert coupons_of(session, driver.id) == []


def test_a_campaign_counts_members_already_at_their_limit_as_refused(
    client: TestClient, session: Session, staff: Staff, member: Callable[..., Member]
) -> None:
    template = make_template(session, per_member_limit=1)
    holder, newcomer = member(), member()
    give_coupon(session, holder, template.code, utcnow())
    response = client.post(
        f"{TEMPLATES}/{template.code}/issue",
        json={"member_ids": [str(holder.id), str(newcomer.id)], "campaign": "again"},
        headers=staff("marketing").headers,
    )
    assert response.json() == {"issued": 1, "already_issued": 0, "refused": {"coupon_limit_reached": 1}}


# --- the new-member pack and birthday coupons --------------------------------------------------------


def test_a_new_member_gets_the_nine_coupons_of_the_pack_once(
    session: Session, database: RollbackDatabase, member: Callable[..., Member]
) -> None:
    newcomer = member()
    deliver_events(database)
    pack = coupons_of(session, newcomer.id)
    assert len(pack) == 9
    assert {c.channel for c in pack} == {"pack"}
    by_template: dict[str, int] = {}
    for coupon in pack:
        code = session.get_one(CouponTemplate, coupon.template_id).code
        by_template[code] = by_template.get(code, 0) + 1
    assert by_template == {"NEW-100-10": 3, "NEW-200-20": 2, "NEW-300-38": 1, "NEW-PL50": 2, "WASH-FREE": 1}
    assert sum(session.get_one(CouponTemplate, c.template_id).face_value_fen for c in pack) == 18800
    # the event delivered a second time (a retry after a crash) gives nothing more
    redeliver_registration(session, newcomer)
    assert len(coupons_of(session, newcomer.id)) == 9


def redeliver_registration(session: Session, member: Member) -> None:
    """Run the pack handler again on the member's registration event (as a retried delivery would)."""
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "member.registered")).all()
    mine = [row for row in rows if row.payload.get("member_id") == str(member.id)]
    assert len(mine) == 1
    issuance.new_member_pack(
        session, Event(mine[0].id, mine[0].topic, dict(mine[0].payload), mine[0].occurred_at)
    )
    session.flush()


def birthday_run(database: RollbackDatabase, settings: Settings, at: datetime) -> dict[str, Any]:
    return run_job(database, settings, "birthday-coupons", at)


def test_the_birthday_coupon_arrives_three_days_before_the_birthday_once_a_year(
    session: Session, database: RollbackDatabase, test_settings: Settings, member: Callable[..., Member]
) -> None:
    celebrating = member(birthday=date(1990, 11, 28))
    not_yet = member(birthday=date(1990, 11, 29))
    at = beijing("2026-11-25 09:00")
    assert birthday_run(database, test_settings, at)["issued"] >= 1
    assert [c.channel for c in coupons_of(session, celebrating.id, "BIRTHDAY")] == ["birthday"]
    assert coupons_of(session, not_yet.id, "BIRTHDAY") == []
    assert birthday_run(database, test_settings, at + timedelta(hours=5))["issued"] == 0
    assert len(coupons_of(session, celebrating.id, "BIRTHDAY")) == 1
    birthday_run(database, test_settings, beijing("2027-11-25 09:00"))
    assert len(coupons_of(session, celebrating.id, "BIRTHDAY")) == 2


def test_a_29_february_birthday_is_celebrated_on_28_february_in_a_common_year(
    session: Session, database: RollbackDatabase, test_settings: Settings, member: Callable[..., Member]
) -> None:
    leapling = member(birthday=date(1992, 2, 29))
    birthday_run(database, test_settings, beijing("2027-02-24 09:00"))
    assert coupons_of(session, leapling.id, "BIRTHDAY") == []
    birthday_run(database, test_settings, beijing("2027-02-25 09:00"))
    assert len(coupons_of(session, leapling.id, "BIRTHDAY")) == 1
    birthday_run(database, test_settings, beijing("2027-02-26 09:00"))
    assert len(coupons_of(session, leapling.id, "BIRTHDAY")) == 1


# --- coupons granted by an earning rule --------------------------------------------------------------


def test_the_coupon_grant_hook_gives_one_coupon_per_rule_and_sale(
    session: Session, member: Callable[..., Member]
) -> None:
    template = make_template(session)
    driver = member()
    now = utcnow()
    for source in ("sale:A", "sale:A", "sale:B"):
        hooks.run_hook(
            session,
            "coupon.grant",
            HookContext(driver.id, "visit-coupon", source, now),
            {"template": template.code},
        )
    session.flush()
    granted = coupons_of(session, driver.id, template.code)
    assert len(granted) == 2
    assert {c.channel for c in granted} == {"rule"}


def test_the_coupon_grant_hook_never_fails_a_sale_when_the_stock_is_gone(
    session: Session, member: Callable[..., Member]
) -> None:
    template = make_template(session, total_stock=0)
    driver = member()
    hooks.run_hook(
        session, "coupon.grant", HookContext(driver.id, "r", "sale:C", utcnow()), {"template": template.code}
    )
    assert coupons_of(session, driver.id, template.code) == []


def test_a_rule_hook_grants_its_coupon_once_per_sale(
    session: Session, terminal: Terminal, member: Callable[..., Member]
) -> None:
    template = make_template(session)
    rules.create_rule(
        session,
        SYSTEM,
        RuleDocument.model_validate(
            {
                "code": template_code("R").lower(),
                "name": "加油送券",
                "action": {"type": "hook", "hook": "coupon.grant", "params": {"template": template.code}},
            }
        ),
    )
    session.flush()
    driver = member()
    basket = terminal.basket(fuel("92", "10.00"), fuel("95", "10.00", line_id="2"), member=driver)
    for _ in range(2):
        response = terminal.commit(basket)
        assert response.status_code == 201, response.text
    granted = coupons_of(session, driver.id, template.code)
    assert len(granted) == 2
    assert {c.channel for c in granted} == {"rule"}
    assert len({c.source_key for c in granted}) == 2


def test_stock_rows_match_the_coupons_issued(session: Session, member: Callable[..., Member]) -> None:
    template = make_template(session, total_stock=5)
    for _ in range(4):
        give_coupon(session, member(), template.code, utcnow())
    session.expire_all()
    issued = session.scalar(select(func.count()).select_from(Coupon).where(Coupon.template_id == template.id))
    assert issued == 4 == templates.issued_counts(session, [template.id])[template.id]


def test_printed_codes_count_against_the_members_limit(
    client: TestClient, session: Session, staff: Staff, member_token: MemberLogin
) -> None:
    headers = staff("marketing").headers
    template = make_template(session, valid_days=7, per_member_limit=1)
    batch = client.post(f"{TEMPLATES}/{template.code}/batches", json={"size": 2}, headers=headers).json()
    codes = [
        line.split(",")[0]
        for line in client.get(f"{BATCHES}/{batch['id']}/codes.csv", headers=headers).text.splitlines()[1:]
    ]
    first = client.post(REDEEM_CODE, json={"code": codes[0]}, headers=member_token.headers)
    assert first.status_code == 201, first.text
    second = client.post(REDEEM_CODE, json={"code": codes[1]}, headers=member_token.headers)
    assert second.status_code == 409
    assert error_of(second)["code"] == "coupon_limit_reached"
    assert len(coupons_of(session, member_token.member_id)) == 1
