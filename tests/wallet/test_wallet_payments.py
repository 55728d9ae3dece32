"""Paying at the pump with the wallet (SPEC W1, §5) and refunding wallet-paid sales (W4).

The wallet pays what is left after discounts, coupons and points, principal first then bonus; the
rest is due from the external payment. Points are earned on the external payment plus principal,
never on bonus. Refunds give the wallet its part back, principal and bonus as they were paid,
exact to the fen however the refund is split."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.pos.models import Sale, SalePayment
from tests.pos.support import Terminal, fuel, goods
from tests.wallet.support import pay_rest_in_cash, purse, top_up, wallet_basket

pytestmark = pytest.mark.usefixtures("no_risk_limits")

LITRES_40 = 30_000
"""40 L of 92# at ¥7.50: the regular tier has no fuel discount."""


def payments_of(session: Session, sale_id: str) -> dict[str, tuple[int, int]]:
    session.expire_all()
    rows = session.scalars(select(SalePayment).where(SalePayment.sale_id == uuid.UUID(sale_id)))
    return {row.method: (row.amount_fen, row.refunded_fen) for row in rows}


def identify(terminal: Terminal, member: Member) -> Any:
    return terminal.post(
        "/api/v1/pos/identify",
        {"station": terminal.station, "identifier": {"type": "card_no", "value": member.card_no}},
    )


def test_a_wallet_that_covers_the_sale_leaves_nothing_due(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 50_000)
    sold = terminal.commit(wallet_basket(terminal, someone, fuel("92", "40.00")), payments=[])
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    assert (sale["wallet_fen"], sale["due_fen"], sale["payments"]) == (LITRES_40, 0, [])
    assert sale["member_after"]["wallet_balance_fen"] == 55_000 - LITRES_40
    assert purse(session, someone) == (50_000 - LITRES_40, 5_000)
    assert payments_of(session, sale["id"]) == {"wallet": (LITRES_40, 0)}


@pytest.mark.parametrize("identified_by", ["plate", "phone", "card_no", "member_id"])
def test_the_wallet_pays_only_for_a_member_who_shows_their_member_code(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member], identified_by: str
) -> None:
    """Anyone at the pump can read a plate or say a phone number: the rotating code is the consent."""
    someone = member()
    top_up(session, signer, someone, 50_000)
    body = terminal.basket(fuel("92", "40.00"), member=someone)
    body["redeem"]["wallet"] = True
    body["member"] = {"type": identified_by, "value": "irrelevant"}
    refused = terminal.commit(body, payments=[])
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == "wallet_needs_member_code"
    assert purse(session, someone) == (50_000, 5_000)


def test_the_wallet_pays_principal_first_then_bonus_and_the_rest_is_due(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 50_000)  # 50,000 principal + 5,000 bonus
    first = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00")))
    assert first.status_code == 201, first.json()
    assert purse(session, someone) == (20_000, 5_000)

    quoted = terminal.quote(
        wallet_basket(terminal, someone, fuel("92", "40.00"), goods(unit_price_fen=3_000))
    )
    assert (quoted.json()["wallet_fen"], quoted.json()["due_fen"]) == (25_000, 8_000)
    second = pay_rest_in_cash(
        terminal, wallet_basket(terminal, someone, fuel("92", "40.00"), goods(unit_price_fen=3_000))
    )
    assert second.status_code == 201, second.json()
    sale = second.json()
    assert (sale["gross_fen"], sale["wallet_fen"], sale["due_fen"]) == (33_000, 25_000, 8_000)
    assert sale["payments"] == [{"method": "cash", "amount_fen": 8_000, "refunded_fen": 0}]
    assert payments_of(session, sale["id"]) == {
        "cash": (8_000, 0),
        "wallet": (20_000, 0),
        "wallet_bonus": (5_000, 0),
    }
    assert purse(session, someone) == (0, 0)
    assert sale["member_after"]["wallet_balance_fen"] == 0


def test_bonus_money_earns_no_points_but_principal_does(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    by_cash, by_principal, by_bonus = member(), member(), member()
    top_up(session, signer, by_principal, 40_000)  # below the tier: principal only
    top_up(session, signer, by_bonus, 50_000)
    assert (
        pay_rest_in_cash(terminal, wallet_basket(terminal, by_bonus, fuel("92", "40.00"))).status_code == 201
    )
    assert purse(session, by_bonus) == (20_000, 5_000)

    cash = terminal.commit(terminal.basket(fuel("92", "40.00"), member=by_cash)).json()
    principal = pay_rest_in_cash(terminal, wallet_basket(terminal, by_principal, fuel("92", "40.00"))).json()
    bonus = pay_rest_in_cash(terminal, wallet_basket(terminal, by_bonus, fuel("92", "40.00"))).json()
    assert (principal["wallet_fen"], principal["due_fen"]) == (LITRES_40, 0)
    assert (bonus["wallet_fen"], bonus["due_fen"]) == (25_000, 5_000)

    earned = {
        name: sale["points_earned"]["total"]
        for name, sale in [("cash", cash), ("principal", principal), ("bonus", bonus)]
    }
    assert earned["cash"] > 0
    assert earned["principal"] == earned["cash"]
    # the ¥50 of bonus earns nothing: points on ¥250 of the ¥300 (whatever the day's multipliers)
    assert earned["bonus"] * LITRES_40 == earned["cash"] * (LITRES_40 - 5_000)
    session.expire_all()
    stored = {
        str(row.id): row.paid_fen
        for row in session.scalars(select(Sale).where(Sale.member_id.in_([by_cash.id, by_bonus.id])))
    }
    assert stored[bonus["id"]] == LITRES_40 - 5_000
    assert stored[cash["id"]] == LITRES_40


def test_the_quote_matches_the_commit(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 12_345)
    body = wallet_basket(terminal, someone, fuel("95", "20.00"))
    quoted = terminal.quote(body).json()
    sold = pay_rest_in_cash(terminal, body).json()
    for field in ("gross_fen", "wallet_fen", "due_fen", "points_earned"):
        assert sold[field] == quoted[field], field
    assert quoted["wallet_fen"] == 12_345
    assert purse(session, someone) == (0, 0)


def test_without_asking_the_wallet_pays_nothing(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 50_000)
    sold = terminal.commit(terminal.basket(fuel("92", "40.00"), member=someone)).json()
    assert (sold["wallet_fen"], sold["due_fen"]) == (0, LITRES_40)
    assert purse(session, someone) == (50_000, 5_000)


def test_an_empty_wallet_pays_nothing_and_everything_is_due(
    terminal: Terminal, member: Callable[..., Member]
) -> None:
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, member(), fuel("92", "40.00")))
    assert sold.status_code == 201, sold.json()
    assert (sold.json()["wallet_fen"], sold.json()["due_fen"]) == (0, LITRES_40)


def test_paying_the_wallets_part_in_cash_as_well_is_a_payment_mismatch(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 10_000)
    sold = terminal.commit(
        wallet_basket(terminal, someone, fuel("92", "40.00")),
        payments=[{"method": "cash", "amount_fen": LITRES_40}],
    )
    assert sold.status_code == 400, sold.json()
    assert sold.json()["error"]["code"] == "payment_mismatch"
    assert purse(session, someone) == (10_000, 0)


def test_identify_shows_the_wallet_balance_before_and_after_a_wallet_sale(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 50_000)
    before = identify(terminal, someone)
    assert before.status_code == 200, before.json()
    assert before.json()["member"]["wallet_balance_fen"] == 55_000
    pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "10.00")))
    assert identify(terminal, someone).json()["member"]["wallet_balance_fen"] == 55_000 - 7_500


# --- refunds -------------------------------------------------------------------------------------------


def spent_bonus_sale(terminal: Terminal, session: Session, signer: Signer, someone: Member) -> dict[str, Any]:
    """A sale of 40 L paid ¥200 principal + ¥50 bonus + ¥50 cash, after a ¥300 wallet sale."""
    top_up(session, signer, someone, 50_000)
    assert (
        pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00"))).status_code == 201
    )
    sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00")))
    assert sold.status_code == 201, sold.json()
    assert purse(session, someone) == (0, 0)
    return dict(sold.json())


def test_a_full_refund_puts_principal_and_bonus_back_as_paid(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    sale = spent_bonus_sale(terminal, session, signer, someone)
    refunded = terminal.refund(sale["id"])
    assert refunded.status_code == 200, refunded.json()
    summary = refunded.json()["refund"]
    assert summary["full"] is True
    assert summary["refunded_fen"] == LITRES_40
    assert sorted((p["method"], p["amount_fen"]) for p in summary["payments"]) == [
        ("cash", 5_000),
        ("wallet", 20_000),
        ("wallet_bonus", 5_000),
    ]
    assert purse(session, someone) == (20_000, 5_000)
    assert refunded.json()["member_after"]["wallet_balance_fen"] == 25_000
    assert payments_of(session, sale["id"]) == {
        "cash": (5_000, 5_000),
        "wallet": (20_000, 20_000),
        "wallet_bonus": (5_000, 5_000),
    }


def test_a_partial_refund_gives_back_its_share_of_principal_and_bonus(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    sale = spent_bonus_sale(terminal, session, signer, someone)
    refunded = terminal.refund(sale["id"], lines=[{"line_id": "1", "liters": "10.00"}])
    assert refunded.status_code == 200, refunded.json()
    summary = refunded.json()["refund"]
    assert summary["full"] is False
    assert summary["refunded_fen"] == 7_500
    shares = {p["method"]: p["amount_fen"] for p in summary["payments"]}
    assert shares == {"cash": 1_250, "wallet": 5_000, "wallet_bonus": 1_250}
    assert purse(session, someone) == (5_000, 1_250)


def test_partial_refunds_add_up_exactly_to_what_the_wallet_paid(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member]
) -> None:
    someone = member()
    top_up(session, signer, someone, 50_000)
    assert (
        pay_rest_in_cash(terminal, wallet_basket(terminal, someone, fuel("92", "40.00"))).status_code == 201
    )
    top_up(session, signer, someone, 1_001)  # 21,001 principal + 5,000 bonus: odd amounts to share
    sold = pay_rest_in_cash(
        terminal,
        wallet_basket(terminal, someone, fuel("92", "33.33"), goods(quantity=3, unit_price_fen=1_999)),
    )
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    assert purse(session, someone) == (0, 0)
    paid = payments_of(session, sale["id"])
    assert paid["wallet"][0] == 21_001
    assert paid["wallet_bonus"][0] == 5_000

    steps: list[list[dict[str, Any]] | None] = [
        [{"line_id": "1", "liters": "7.77"}],
        [{"line_id": "2", "quantity": 1}],
        [{"line_id": "1", "liters": "0.01"}, {"line_id": "2", "quantity": 1}],
        [{"line_id": "1", "liters": "11.11"}],
        None,
    ]
    back_principal = back_bonus = refunded = 0
    for lines in steps:
        response = terminal.refund(sale["id"], lines=lines)
        assert response.status_code == 200, response.json()
        summary = response.json()["refund"]
        shares = {p["method"]: p["amount_fen"] for p in summary["payments"]}
        back_principal += shares.get("wallet", 0)
        back_bonus += shares.get("wallet_bonus", 0)
        refunded += summary["refunded_fen"]
        assert purse(session, someone) == (back_principal, back_bonus)
    assert summary["full"] is True
    assert refunded == sale["gross_fen"] - sale["discount_fen"]
    assert (back_principal, back_bonus) == (21_001, 5_000)
    assert all(amount == done for amount, done in payments_of(session, sale["id"]).values())
