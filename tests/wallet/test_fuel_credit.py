"""Fuel credit (加油金, SPEC W1): stored value the chain gives, usable on fuel only, until it expires.

At the pump fuel credit pays first — only what remains of the fuel lines — then principal, then
bonus. Like bonus it is a gift: it earns no points. Refunds give it back with its original expiry;
the ``expire-fuel-credit`` job moves what expired to ``fuel_credit_expiry``, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.jobs.registry import run_job
from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger.chain import Signer
from forecourt.ledger.models import Entry, LedgerAccount, Lot, Posting
from forecourt.members.models import Member
from forecourt.pos.models import Sale, SalePayment
from forecourt.wallet import fuel_credit
from forecourt.wallet import service as wallet
from forecourt.wallet.domain import BonusTier
from tests.conftest import RollbackDatabase
from tests.fixtures.builders import StaffLogin, unique
from tests.members.support import MemberLogin
from tests.pos.support import Terminal, fuel, goods
from tests.pos.test_pos_concurrency import answer, race
from tests.wallet.support import (
    MEMBERS,
    Shop,
    open_shop,
    pay_rest_in_cash,
    purse,
    shown_code,
    tills,
    top_up,
    wallet_basket,
)

LITRES_40 = 30_000
"""40 L of 92# at ¥7.50 (the regular tier has no fuel discount)."""
LITRES_10 = 7_500


def grant(
    session: Session, signer: Signer, member: Member, amount_fen: int, *, days: int = 30
) -> fuel_credit.Grant:
    granted = fuel_credit.grant(
        session,
        signer,
        SYSTEM,
        member.id,
        amount_fen,
        expires_at=utcnow() + timedelta(days=days),
        reason="开业加油金",
        idempotency_key=str(uuid.uuid4()),
    )
    session.flush()
    return granted


def credit(session: Session, member: Member, at: datetime | None = None) -> int:
    session.expire_all()
    return fuel_credit.usable(session, member.id, at or utcnow())


def payments_of(session: Session, sale_id: str) -> dict[str, tuple[int, int]]:
    session.expire_all()
    rows = session.scalars(select(SalePayment).where(SalePayment.sale_id == uuid.UUID(sale_id)))
    return {row.method: (row.amount_fen, row.refunded_fen) for row in rows}


def small_bonus_tier(session: Session) -> None:
    """Top up ¥20 → +¥5, so a wallet can hold a little principal and a little bonus."""
    wallet.set_bonus_tiers(session, SYSTEM, [BonusTier(min_fen=2_000, bonus_fen=500)])


# --- at the pump ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_risk_limits")
def test_fuel_credit_pays_first_then_principal_then_bonus_and_the_rest_is_due(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    small_bonus_tier(session)
    top_up(session, signer, someone, 2_000)  # 2,000 principal + 500 bonus
    grant(session, signer, someone, 10_000)
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00"), goods()))
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    shop = sale["gross_fen"] - LITRES_40
    assert (sale["fuel_credit_fen"], sale["wallet_fen"]) == (10_000, 12_500)
    assert sale["due_fen"] == LITRES_40 + shop - 12_500
    assert payments_of(session, sale["id"]) == {
        "fuel_credit": (10_000, 0),
        "wallet": (2_000, 0),
        "wallet_bonus": (500, 0),
        "cash": (sale["due_fen"], 0),
    }
    assert (purse(session, someone), credit(session, someone)) == ((0, 0), 0)
    assert sale["member_after"]["wallet_balance_fen"] == 0  # principal + bonus: fuel credit is apart


@pytest.mark.usefixtures("no_risk_limits")
def test_fuel_credit_pays_no_more_than_the_fuel_lines_and_the_wallet_pays_the_shop_lines(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    small_bonus_tier(session)
    top_up(session, signer, someone, 2_000)
    grant(session, signer, someone, 40_000)
    quoted = terminal.quote(
        wallet_basket(terminal, someone, fuel("92", "10.00"), goods(unit_price_fen=3_000))
    ).json()
    assert (quoted["fuel_credit_fen"], quoted["wallet_fen"], quoted["due_fen"]) == (LITRES_10, 10_000, 500)
    sold = pay_rest_in_cash(
        terminal, wallet_basket(terminal, someone, fuel("92", "10.00"), goods(unit_price_fen=3_000))
    )
    assert sold.status_code == 201, sold.json()
    assert payments_of(session, sold.json()["id"]) == {
        "fuel_credit": (LITRES_10, 0),
        "wallet": (2_000, 0),
        "wallet_bonus": (500, 0),
        "cash": (500, 0),
    }
    assert credit(session, someone) == 40_000 - LITRES_10


@pytest.mark.usefixtures("no_risk_limits")
def test_a_shop_only_basket_is_not_paid_by_fuel_credit(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    grant(session, signer, someone, 10_000)
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, goods(unit_price_fen=3_000)))
    assert sold.status_code == 201, sold.json()
    assert (sold.json()["fuel_credit_fen"], sold.json()["wallet_fen"], sold.json()["due_fen"]) == (
        0,
        0,
        3_000,
    )
    assert payments_of(session, sold.json()["id"]) == {"cash": (3_000, 0)}
    assert credit(session, someone) == 10_000


@pytest.mark.usefixtures("no_risk_limits")
def test_without_asking_the_wallet_fuel_credit_pays_nothing(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    grant(session, signer, someone, 10_000)
    sold = terminal.commit(terminal.basket(fuel("92", "40.00"), member=someone))
    assert (sold.json()["fuel_credit_fen"], sold.json()["due_fen"]) == (0, LITRES_40)
    assert credit(session, someone) == 10_000


@pytest.mark.usefixtures("no_risk_limits")
def test_fuel_credit_earns_no_points(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    by_cash, by_credit = member(), member()
    grant(session, signer, by_credit, 10_000)
    cash = terminal.commit(terminal.basket(fuel("92", "40.00"), member=by_cash)).json()
    gift = pay_rest_in_cash(terminal, wallet_basket(terminal, by_credit, fuel("92", "40.00"))).json()
    assert (gift["fuel_credit_fen"], gift["due_fen"]) == (10_000, LITRES_40 - 10_000)
    assert cash["points_earned"]["total"] > 0
    # points on the ¥200 paid, none on the ¥100 of fuel credit (whatever the day's multipliers)
    assert gift["points_earned"]["total"] * LITRES_40 == cash["points_earned"]["total"] * (LITRES_40 - 10_000)
    session.expire_all()
    assert session.get_one(Sale, uuid.UUID(gift["id"])).paid_fen == LITRES_40 - 10_000


def test_expired_fuel_credit_is_not_spent_even_before_the_expiry_job_ran(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    with time_machine.travel(utcnow() - timedelta(days=3), tick=False):
        grant(session, signer, someone, 10_000, days=1)
    fresh = grant(session, signer, someone, 2_000)
    assert wallet.balances(session, someone.id).fuel_credit_fen == fresh.amount_fen
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00")))
    assert sold.status_code == 201, sold.json()
    assert sold.json()["fuel_credit_fen"] == 2_000
    session.expire_all()
    account = session.get_one(LedgerAccount, fuel_credit.account(someone.id).id)
    assert account.balance == 10_000  # the expired lot, waiting for the job


# --- refunds -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_risk_limits")
def test_a_full_refund_gives_fuel_credit_back_with_its_original_expiry(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    early = grant(session, signer, someone, 4_000, days=10)
    late = grant(session, signer, someone, 8_000, days=40)
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "10.00")))
    assert sold.status_code == 201, sold.json()
    assert sold.json()["fuel_credit_fen"] == LITRES_10  # 4,000 from the early lot, 3,500 from the late
    assert credit(session, someone) == 12_000 - LITRES_10

    refunded = terminal.refund(sold.json()["id"])
    assert refunded.status_code == 200, refunded.json()
    assert refunded.json()["refund"]["payments"] == [
        {"method": "fuel_credit", "amount_fen": LITRES_10, "refunded_fen": 0}
    ]
    assert credit(session, someone) == 12_000
    open_lots = session.execute(
        select(Lot.expires_at, func.sum(Lot.remaining))
        .where(Lot.account_id == fuel_credit.account(someone.id).id, Lot.remaining > 0)
        .group_by(Lot.expires_at)
    ).all()
    by_expiry = {expires_at.astimezone(UTC): int(total) for expires_at, total in open_lots}
    assert by_expiry == {early.expires_at: 4_000, late.expires_at: 8_000}
    assert payments_of(session, sold.json()["id"]) == {"fuel_credit": (LITRES_10, LITRES_10)}


@pytest.mark.usefixtures("no_risk_limits")
def test_partial_refunds_give_back_exactly_the_fuel_credit_the_sale_took(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    grant(session, signer, someone, 1_001, days=10)
    grant(session, signer, someone, 2_002, days=40)
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "33.33"), goods()))
    assert sold.status_code == 201, sold.json()
    assert credit(session, someone) == 0
    for lines in ([{"line_id": "1", "liters": "7.77"}], [{"line_id": "1", "liters": "11.11"}], None):
        assert terminal.refund(sold.json()["id"], lines=lines).status_code == 200
    assert credit(session, someone) == 3_003
    assert payments_of(session, sold.json()["id"])["fuel_credit"] == (3_003, 3_003)


@pytest.mark.usefixtures("no_risk_limits")
def test_fuel_credit_refunded_after_its_expiry_comes_back_expired_and_the_job_takes_it(
    terminal: Terminal,
    session: Session,
    signer: Signer,
    member: Callable[..., Member],
    database: RollbackDatabase,
    test_settings: Settings,
) -> None:
    someone = member()
    granted = grant(session, signer, someone, 5_000, days=1)
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "10.00")))
    assert sold.status_code == 201, sold.json()
    later = granted.expires_at + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        refunded = terminal.refund(sold.json()["id"])
        assert refunded.status_code == 200, refunded.json()
        assert credit(session, someone) == 0
        session.expire_all()
        account = session.get_one(LedgerAccount, fuel_credit.account(someone.id).id)
        assert account.balance == 5_000
        assert run_job(database, test_settings, "expire-fuel-credit", later) == {"lots": 1, "fen": 5_000}
    session.expire_all()
    assert session.get_one(LedgerAccount, fuel_credit.account(someone.id).id).balance == 0


# --- expiry --------------------------------------------------------------------------------------------


def test_the_expiry_job_moves_expired_lots_once(
    session: Session,
    signer: Signer,
    member: Callable[..., Member],
    database: RollbackDatabase,
    test_settings: Settings,
) -> None:
    someone = member()
    soon = grant(session, signer, someone, 3_000, days=5)
    later = grant(session, signer, someone, 7_000, days=50)
    before_expiry = fuel_credit.program_total(session, fuel_credit.EXPIRY)
    at = soon.expires_at + timedelta(days=1)
    assert credit(session, someone, at) == 7_000

    assert run_job(database, test_settings, "expire-fuel-credit", at)["fen"] >= 3_000
    assert run_job(database, test_settings, "expire-fuel-credit", at) == {"lots": 0, "fen": 0}
    session.expire_all()
    assert session.get_one(LedgerAccount, fuel_credit.account(someone.id).id).balance == 7_000
    assert credit(session, someone) == 7_000
    expiry = session.scalar(
        select(func.sum(Entry.amount))
        .join(Posting, Posting.id == Entry.posting_id)
        .where(
            Entry.account_id == fuel_credit.account(someone.id).id,
            Posting.reason == "wallet.fuel_credit.expiry",
        )
    )
    assert expiry == -3_000
    assert fuel_credit.program_total(session, fuel_credit.EXPIRY) >= before_expiry + 3_000

    run_job(database, test_settings, "expire-fuel-credit", later.expires_at)
    session.expire_all()
    assert session.get_one(LedgerAccount, fuel_credit.account(someone.id).id).balance == 0


# --- the API -------------------------------------------------------------------------------------------


def credit_path(member: Member) -> str:
    return f"{MEMBERS}/{member.id}/wallet/fuel-credit"


def test_finance_grants_fuel_credit_once_per_key_and_it_is_audited(
    client: TestClient, session: Session, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    finance, someone = staff("finance"), member()
    expires_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    body = {"amount_fen": 5_000, "expires_at": expires_at.isoformat(), "reason": "开业加油金"}
    headers = {**finance.headers, "Idempotency-Key": "grant-1"}
    first = client.post(credit_path(someone), json=body, headers=headers)
    assert first.status_code == 201, first.json()
    assert first.json()["fuel_credit"]["fuel_credit_fen"] == 5_000
    again = client.post(credit_path(someone), json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert credit(session, someone) == 5_000
    shown = client.get(credit_path(someone), headers=finance.headers).json()
    assert shown["fuel_credit_fen"] == 5_000
    assert [datetime.fromisoformat(lot["expires_at"]) for lot in shown["lots"]] == [expires_at]
    wallet_read = client.get(f"{MEMBERS}/{someone.id}/wallet", headers=finance.headers).json()
    assert wallet_read["balance_fen"] == 0  # principal + bonus only: fuel credit pays fuel only
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "wallet.fuel_credit.grant", AuditEntry.actor_id == str(finance.user.id)
        )
    ).one()
    assert entry.after == {"amount_fen": 5_000, "expires_at": expires_at.isoformat(), "reason": "开业加油金"}


def test_the_member_sees_their_fuel_credit_by_lot(
    client: TestClient, session: Session, signer: Signer, member_token: MemberLogin
) -> None:
    someone = session.get_one(Member, uuid.UUID(str(member_token.member_id)))
    late = grant(session, signer, someone, 2_000, days=60)
    soon = grant(session, signer, someone, 1_000, days=7)
    shown = client.get("/api/v1/me/wallet/fuel-credit", headers=member_token.headers)
    assert shown.status_code == 200, shown.json()
    assert shown.json()["fuel_credit_fen"] == 3_000
    assert [
        (lot["remaining_fen"], datetime.fromisoformat(lot["expires_at"])) for lot in shown.json()["lots"]
    ] == [(1_000, soon.expires_at), (2_000, late.expires_at)]
    assert client.get("/api/v1/me/wallet", headers=member_token.headers).json()["balance_fen"] == 0


def test_fuel_credit_that_expires_in_the_past_is_refused(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    body = {"amount_fen": 5_000, "expires_at": (utcnow() - timedelta(hours=1)).isoformat(), "reason": "x"}
    response = client.post(
        credit_path(member()), json=body, headers={**staff("finance").headers, "Idempotency-Key": "k"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_only_wallet_managers_grant_fuel_credit(
    client: TestClient, staff: Callable[..., StaffLogin], member: Callable[..., Member]
) -> None:
    body = {"amount_fen": 5_000, "expires_at": (utcnow() + timedelta(days=1)).isoformat(), "reason": "x"}
    someone = member()
    for role in ("service", "attendant"):
        response = client.post(
            credit_path(someone), json=body, headers={**staff(role).headers, "Idempotency-Key": role}
        )
        assert response.status_code == 403, role


# --- concurrency ---------------------------------------------------------------------------------------

THREADS = 12
GRANTED = 30_000
LOSING = {(409, "insufficient_wallet_balance"), (400, "payment_mismatch")}


@pytest.fixture
def shop(committed_database: Database, test_settings: Settings, signer: Signer) -> Shop:
    """A member with ¥300 of fuel credit (no wallet money), at a committed station."""

    def fund(session: Session, member_id: uuid.UUID) -> object:
        return fuel_credit.grant(
            session,
            signer,
            SYSTEM,
            member_id,
            GRANTED,
            expires_at=utcnow() + timedelta(days=30),
            reason="race",
            idempotency_key=unique("race"),
        )

    return open_shop(committed_database, test_settings, fund)


@pytest.fixture
def terminals(shop: Shop) -> Iterator[list[Terminal]]:
    with tills(shop, THREADS) as opened:
        yield opened


@pytest.mark.committed
def test_simultaneous_fuel_credit_sales_never_overdraw_it(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    shown = shown_code(shop)

    def sell(index: int) -> Any:
        terminal = terminals[index]
        body = terminal.basket(fuel("92", "10.00"))
        body["member"] = shown
        body["redeem"]["wallet"] = True
        full = {**body, "pos_txn_id": terminal.next_txn(), "payments": []}
        return terminal.post("/api/v1/pos/transactions", full, key=str(uuid.uuid4()))

    responses = race(THREADS, sell)
    assert all(answer(r) == (201, None) or answer(r) in LOSING for r in responses), [
        r.json() for r in responses
    ]
    sold = [r.json() for r in responses if r.status_code == 201]
    assert sold, "no sale got through"
    assert all(s["fuel_credit_fen"] == LITRES_10 and s["due_fen"] == 0 for s in sold)
    assert len(sold) <= GRANTED // LITRES_10
    with committed_database.transaction(write=False) as session:
        paid = session.scalar(
            select(func.sum(SalePayment.amount_fen))
            .join(Sale, Sale.id == SalePayment.sale_id)
            .where(Sale.member_id == shop.member_id, SalePayment.method == "fuel_credit")
        )
        assert paid == len(sold) * LITRES_10
        account = session.get_one(LedgerAccount, fuel_credit.account(shop.member_id).id)
        assert account.balance == GRANTED - paid >= 0
        lots = session.scalar(select(func.sum(Lot.remaining)).where(Lot.account_id == account.id))
        assert lots == account.balance


def test_the_points_expiry_job_leaves_fuel_credit_alone(
    session: Session,
    signer: Signer,
    member: Callable[..., Member],
    database: RollbackDatabase,
    test_settings: Settings,
) -> None:
    """Both live in lots; the points job takes points only (it once took any lot that was due)."""
    someone = member()
    soon = grant(session, signer, someone, 3_000, days=5)
    run_job(database, test_settings, "expire-points", soon.expires_at + timedelta(days=1))
    session.expire_all()
    assert session.get_one(LedgerAccount, fuel_credit.account(someone.id).id).balance == 3_000
