"""Top-ups (SPEC W1): money in, the bonus of the tier it reaches (default ¥500 → +¥50), bonus tiers
set by finance, counter top-ups by staff once per Idempotency-Key, balances for staff and member."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.kit.actor import SYSTEM
from forecourt.ledger.chain import Signer
from forecourt.ledger.models import Posting
from forecourt.members.models import Member
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import BonusTier
from forecourt.wallet.errors import InvalidBonusTiers, InvalidTopUp
from forecourt.wallet.models import WalletTopUp
from tests.fixtures.builders import StaffLogin, make_station
from tests.members.support import MemberLogin
from tests.wallet.support import MEMBERS, purse, top_up

TIERS = "/api/v1/wallet/bonus-tiers"


def top_up_path(member: Member | str) -> str:
    return f"{MEMBERS}/{member if isinstance(member, str) else member.id}/wallet/top-ups"


def post_top_up(
    client: TestClient, login: StaffLogin, member: Member | str, body: dict[str, Any], key: str | None = None
) -> Any:
    return client.post(
        top_up_path(member), json=body, headers={**login.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    )


def top_ups_of(session: Session, member_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(WalletTopUp).where(WalletTopUp.member_id == member_id)
        )
        or 0
    )


# --- the service ------------------------------------------------------------------------------------


def test_a_500_yuan_top_up_earns_the_default_50_yuan_bonus(
    session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    row = top_up(session, signer, someone, 50_000)
    assert (row.amount_fen, row.bonus_fen) == (50_000, 5_000)
    assert purse(session, someone) == (50_000, 5_000)


def test_a_top_up_below_the_lowest_tier_earns_no_bonus(
    session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    assert top_up(session, signer, someone, 49_999).bonus_fen == 0
    assert top_up(session, signer, someone, 20_000).bonus_fen == 0
    assert purse(session, someone) == (69_999, 0)


def test_a_top_up_earns_the_bonus_of_the_highest_tier_it_reaches(
    session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    wallet.set_bonus_tiers(
        session, SYSTEM, [BonusTier(100_000, 12_000), BonusTier(20_000, 1_000), BonusTier(50_000, 5_000)]
    )
    someone = member()
    bonuses = [
        top_up(session, signer, someone, amount).bonus_fen for amount in (19_999, 20_000, 99_999, 100_000)
    ]
    assert bonuses == [0, 1_000, 5_000, 12_000]
    assert purse(session, someone) == (19_999 + 20_000 + 99_999 + 100_000, 18_000)


def test_a_top_up_is_made_once_per_key(
    session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    first = wallet.top_up(session, signer, SYSTEM, someone.id, 50_000, method="cash", idempotency_key="k-1")
    again = wallet.top_up(session, signer, SYSTEM, someone.id, 50_000, method="cash", idempotency_key="k-1")
    assert again.id == first.id
    assert top_ups_of(session, someone.id) == 1
    assert purse(session, someone) == (50_000, 5_000)


def test_a_top_up_of_nothing_is_refused(
    session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    with pytest.raises(InvalidTopUp):
        top_up(session, signer, member(), 0)


@pytest.mark.parametrize(
    "tiers",
    [
        [BonusTier(10_000, 10_000)],
        [BonusTier(0, 0)],
        [BonusTier(10_000, -1)],
        [BonusTier(10_000, 100), BonusTier(10_000, 200)],
        [BonusTier(10_000, 500), BonusTier(50_000, 400)],
    ],
    ids=["bonus-as-big-as-top-up", "zero-threshold", "negative-bonus", "same-threshold", "higher-gives-less"],
)
def test_bonus_tiers_that_make_no_sense_are_refused(session: Session, tiers: list[BonusTier]) -> None:
    before = wallet.bonus_tiers(session)
    with pytest.raises(InvalidBonusTiers):
        wallet.set_bonus_tiers(session, SYSTEM, tiers)
    assert wallet.bonus_tiers(session) == before


# --- the API ------------------------------------------------------------------------------------------


def test_finance_sets_the_bonus_tiers_and_the_change_is_audited(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    finance = staff("finance")
    assert client.get(TIERS, headers=finance.headers).json() == {
        "tiers": [{"min_fen": 50_000, "bonus_fen": 5_000}]
    }
    tiers = {"tiers": [{"min_fen": 100_000, "bonus_fen": 15_000}, {"min_fen": 30_000, "bonus_fen": 2_000}]}
    response = client.put(TIERS, json=tiers, headers=finance.headers)
    assert response.status_code == 200, response.json()
    assert response.json()["tiers"] == sorted(tiers["tiers"], key=lambda tier: tier["min_fen"])
    assert client.get(TIERS, headers=finance.headers).json() == response.json()
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "wallet.bonus_tiers", AuditEntry.actor_id == str(finance.user.id)
        )
    ).one()
    assert entry.before == {"tiers": [{"min_fen": 50_000, "bonus_fen": 5_000}]}
    assert entry.after == {"tiers": sorted(tiers["tiers"], key=lambda tier: tier["min_fen"])}


def test_invalid_bonus_tiers_are_refused_with_their_code(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin]
) -> None:
    finance = staff("finance")
    response = client.put(
        TIERS, json={"tiers": [{"min_fen": 10_000, "bonus_fen": 10_000}]}, headers=finance.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_bonus_tiers"
    assert wallet.bonus_tiers(session) == [BonusTier(50_000, 5_000)]


def test_only_wallet_managers_set_the_bonus_tiers(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    tiers = {"tiers": [{"min_fen": 100_000, "bonus_fen": 15_000}]}
    for role in ("marketing", "service", "attendant"):
        response = client.put(TIERS, json=tiers, headers=staff(role).headers)
        assert response.status_code == 403, role


def test_custom_tiers_set_through_the_api_apply_to_the_next_top_up(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    finance = staff("finance")
    client.put(TIERS, json={"tiers": [{"min_fen": 10_000, "bonus_fen": 800}]}, headers=finance.headers)
    response = post_top_up(client, finance, member(), {"amount_fen": 10_000, "method": "wechat"})
    assert response.status_code == 201, response.json()
    assert response.json()["bonus_fen"] == 800
    assert response.json()["wallet"] == {"principal_fen": 10_000, "bonus_fen": 800, "balance_fen": 10_800}


def test_a_counter_top_up_answers_with_the_bonus_and_the_new_balance(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    someone = member()
    response = post_top_up(
        client,
        staff("finance"),
        someone,
        {"amount_fen": 50_000, "method": "transfer", "reference": "BANK-42"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["member_id"] == str(someone.id)
    assert (body["amount_fen"], body["bonus_fen"], body["method"], body["reference"]) == (
        50_000,
        5_000,
        "transfer",
        "BANK-42",
    )
    assert body["station"] is None
    assert body["wallet"] == {"principal_fen": 50_000, "bonus_fen": 5_000, "balance_fen": 55_000}


def test_the_same_key_and_body_give_the_same_answer_and_one_posting(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    finance = staff("finance")
    someone = member()
    body = {"amount_fen": 50_000, "method": "cash"}
    postings_before = session.scalar(select(func.count()).select_from(Posting)) or 0
    first = post_top_up(client, finance, someone, body, key="counter-1")
    again = post_top_up(client, finance, someone, body, key="counter-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(Posting)) == postings_before + 1
    assert top_ups_of(session, someone.id) == 1
    assert purse(session, someone) == (50_000, 5_000)


def test_the_same_key_with_another_body_is_a_conflict(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    finance = staff("finance")
    someone = member()
    assert (
        post_top_up(client, finance, someone, {"amount_fen": 50_000, "method": "cash"}, key="k").status_code
        == 201
    )
    other = post_top_up(client, finance, someone, {"amount_fen": 60_000, "method": "cash"}, key="k")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_conflict"
    assert purse(session, someone) == (50_000, 5_000)


def test_a_top_up_needs_an_idempotency_key(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    response = client.post(
        top_up_path(member()), json={"amount_fen": 1_000, "method": "cash"}, headers=staff("finance").headers
    )
    assert response.status_code == 400


def test_station_staff_top_up_at_their_own_station(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    home = make_station(session)
    elsewhere = make_station(session)
    attendant = staff("attendant", station=home)
    response = post_top_up(
        client, attendant, member(), {"amount_fen": 20_000, "method": "cash", "station": elsewhere.code}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["station"] == home.code
    row = session.get(WalletTopUp, uuid.UUID(response.json()["id"]))
    assert row is not None
    assert row.station == home.code


def test_head_office_may_name_the_station_of_a_top_up(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    station = make_station(session)
    response = post_top_up(
        client,
        staff("finance"),
        member(),
        {"amount_fen": 20_000, "method": "bank_card", "station": station.code},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["station"] == station.code


def test_a_bank_transfer_is_recorded_by_finance_not_at_a_station(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    at_the_counter = post_top_up(
        client,
        staff("attendant", station=make_station(session)),
        driver,
        {"amount_fen": 20_000, "method": "transfer"},
    )
    assert at_the_counter.status_code == 403, at_the_counter.json()
    by_finance = post_top_up(client, staff("finance"), driver, {"amount_fen": 20_000, "method": "transfer"})
    assert by_finance.status_code == 201, by_finance.json()
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.action == "wallet.top_up", AuditEntry.entity_id == str(driver.id))
    )
    assert entry is not None
    assert entry.after["method"] == "transfer"


@pytest.mark.parametrize("role", ["marketing", "agent", "service"])
def test_roles_without_the_top_up_permission_cannot_top_up(
    client: TestClient,
    session: Session,
    staff: Callable[..., StaffLogin],
    member: Callable[..., Member],
    role: str,
) -> None:
    someone = member()
    response = post_top_up(client, staff(role), someone, {"amount_fen": 50_000, "method": "cash"})
    assert response.status_code == 403
    assert purse(session, someone) == (0, 0)


def test_a_top_up_for_an_unknown_member_is_not_found(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    response = post_top_up(
        client, staff("finance"), str(uuid.uuid4()), {"amount_fen": 1_000, "method": "cash"}
    )
    assert response.status_code == 404


def test_staff_and_the_member_see_the_wallet(
    client: TestClient,
    session: Session,
    signer: Signer,
    staff: Callable[..., StaffLogin],
    member_token: MemberLogin,
) -> None:
    member_id = uuid.UUID(member_token.member_id)
    top_up(session, signer, member_id, 50_000)
    top_up(session, signer, member_id, 3_000)
    expected = {"principal_fen": 53_000, "bonus_fen": 5_000, "balance_fen": 58_000}
    assert client.get("/api/v1/me/wallet", headers=member_token.headers).json() == expected
    seen = client.get(f"{MEMBERS}/{member_id}/wallet", headers=staff("service").headers)
    assert seen.status_code == 200
    assert seen.json() == expected
    assert client.get("/api/v1/me/wallet").status_code == 401


def test_a_new_member_has_an_empty_wallet(client: TestClient, member_token: MemberLogin) -> None:
    assert client.get("/api/v1/me/wallet", headers=member_token.headers).json() == {
        "principal_fen": 0,
        "bonus_fen": 0,
        "balance_fen": 0,
    }
