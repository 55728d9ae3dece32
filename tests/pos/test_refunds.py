"""Refunds: money, points and tier go back in proportion, exactly, whatever the sequence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.kit.clock import utcnow
from forecourt.ledger import points
from forecourt.ledger.chain import Signer
from forecourt.ledger.models import LedgerAccount, Lot
from forecourt.members.models import Member
from forecourt.tiers import service as tiers
from tests.devices.support import error_of
from tests.members.support import earn_points
from tests.pos.support import Terminal, fuel, goods, points_of


def test_a_full_refund_takes_back_the_points_and_returns_the_money(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver)).json()
    response = terminal.refund(sale["id"])
    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["refund"]["full"] is True
    assert result["refund"]["refunded_fen"] == 30_000
    assert result["refund"]["points_clawed_back"] == 300
    assert result["refund"]["payments"] == [{"method": "cash", "amount_fen": 30_000, "refunded_fen": 0}]
    assert result["transaction"]["status"] == "refunded"
    assert result["member_after"]["points_available"] == 0
    assert points_of(session, driver) == 0
    again = terminal.refund(sale["id"])
    assert again.status_code == 409
    assert error_of(again)["code"] == "refund_not_possible"


def test_partial_refunds_add_up_to_the_full_one(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    sale = terminal.commit(terminal.basket(fuel("92", "33.33"), goods(quantity=3), member=driver)).json()
    assert sale["due_fen"] == 24_998 + 9_000
    earned = sale["points_earned"]["total"]
    first = terminal.refund(sale["id"], lines=[{"line_id": "1", "liters": "10.01"}]).json()["refund"]
    second = terminal.refund(sale["id"], lines=[{"line_id": "2", "quantity": 1}]).json()["refund"]
    last = terminal.refund(sale["id"]).json()
    refunds = [first, second, last["refund"]]
    assert sum(r["refunded_fen"] for r in refunds) == sale["due_fen"]
    assert sum(r["points_clawed_back"] for r in refunds) == earned
    assert last["transaction"]["status"] == "refunded"
    assert [len(r["lines"]) for r in refunds] == [1, 1, 2]
    assert points_of(session, driver) == 0


def test_a_refund_cannot_exceed_what_was_sold(terminal: Terminal, member: Callable[..., Member]) -> None:
    sale = terminal.commit(terminal.basket(fuel("92", "10.00"), member=member())).json()
    too_much = terminal.refund(sale["id"], lines=[{"line_id": "1", "liters": "10.01"}])
    assert error_of(too_much)["code"] == "refund_exceeds_sale"
    unknown = terminal.refund(sale["id"], lines=[{"line_id": "9", "liters": "1.00"}])
    assert error_of(unknown)["code"] == "unknown_line"
    wrong_measure = terminal.refund(sale["id"], lines=[{"line_id": "1", "quantity": 1}])
    assert error_of(wrong_measure)["code"] == "invalid_request"


def test_redeemed_points_come_back_as_new_lots_with_their_original_expiry(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    expires = utcnow() + timedelta(days=40)
    points.earn(
        session,
        signer,
        SYSTEM,
        driver.id,
        500,
        reason="test",
        idempotency_key=f"test:{driver.id}",
        occurred_at=utcnow(),
        expires_at=expires,
    )
    sale = terminal.commit(terminal.basket(fuel("92", "10.00"), member=driver, points=500)).json()
    assert sale["points_redeemed"] == 500
    refund = terminal.refund(sale["id"]).json()["refund"]
    assert refund["points_returned"] == 500
    account = session.scalar(
        select(LedgerAccount).where(
            LedgerAccount.member_id == driver.id, LedgerAccount.purpose == "available"
        )
    )
    assert account is not None
    lots = session.scalars(select(Lot).where(Lot.account_id == account.id, Lot.remaining > 0)).all()
    assert [(lot.remaining, lot.expires_at) for lot in lots] == [(500, expires)]
    assert points_of(session, driver) == 500


def test_a_clawback_of_spent_points_leaves_a_debt_that_blocks_spending_until_repaid(
    terminal: Terminal, member: Callable[..., Member], session: Session, signer: Signer
) -> None:
    driver = member()
    sale = terminal.commit(terminal.basket(fuel("92", "40.00"), member=driver)).json()  # +300
    spend = terminal.commit(terminal.basket(fuel("92", "10.00"), member=driver, points=300))
    assert spend.status_code == 201, spend.json()
    assert points_of(session, driver) == 72  # 300 spent (¥3 off), ¥72 paid earns 72
    terminal.refund(sale["id"])  # claws back 300: 72 from the lot, 228 owed
    assert points_of(session, driver) == -228
    refused = terminal.quote(terminal.basket(fuel("92", "10.00"), member=driver, points=100))
    assert error_of(refused)["code"] == "insufficient_points"
    earn_points(session, signer, driver.id, 400)
    assert points_of(session, driver) == 172
    account = session.scalar(
        select(LedgerAccount).where(
            LedgerAccount.member_id == driver.id, LedgerAccount.purpose == "available"
        )
    )
    assert account is not None
    open_lots = session.scalars(select(Lot.remaining).where(Lot.account_id == account.id, Lot.remaining > 0))
    assert list(open_lots) == [172]  # the debt was paid first: only the rest is spendable


def test_a_refund_undoes_the_upgrade_its_sale_brought(
    terminal: Terminal, member: Callable[..., Member], session: Session
) -> None:
    driver = member()
    sale = terminal.commit(terminal.basket(fuel("98", "230.00"), member=driver)).json()  # ¥2,070 → silver
    assert sale["member_after"]["tier"]["code"] == "silver"
    after = terminal.refund(sale["id"]).json()
    assert after["member_after"]["tier"]["code"] == "regular"
    assert sorted(c.reason for c in tiers.history(session, driver.id)) == ["refund", "upgrade"]
