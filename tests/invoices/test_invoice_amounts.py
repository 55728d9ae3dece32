"""What a fapiao covers (SPEC W6): the fuel the member paid for with money (the external payment
and wallet principal), after refunds — never the tier discount, coupons, points or the wallet
bonus the chain gave, never goods; only the member's own sales, each one once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.kit.clock import utcnow
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.pos.models import SalePayment
from tests.coupons.support import give_coupon, make_template
from tests.invoices.support import ME, ask, buy_fuel, member_of
from tests.members.support import MemberLogin, earn_points
from tests.pos.support import Terminal, fuel, goods
from tests.wallet.support import pay_rest_in_cash, top_up

pytestmark = pytest.mark.usefixtures("no_risk_limits")


def payments_of(session: Session, sale_id: str) -> dict[str, int]:
    session.expire_all()
    rows = session.scalars(select(SalePayment).where(SalePayment.sale_id == uuid.UUID(sale_id)))
    return {row.method: row.amount_fen for row in rows}


def uninvoiced(client: TestClient, login: MemberLogin) -> dict[str, Any]:
    found = client.get(f"{ME}/uninvoiced", headers=login.headers)
    assert found.status_code == 200, found.json()
    body: dict[str, Any] = found.json()
    return body


def test_the_fapiao_covers_cash_and_wallet_principal_but_no_discount_and_no_bonus(
    client: TestClient, session: Session, signer: Signer, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token, tier="silver")
    earn_points(session, signer, someone.id, 500)
    coupon = give_coupon(session, someone, make_template(session).code, utcnow())
    top_up(session, signer, someone, 50_000)  # 50,000 principal + 5,000 bonus
    body = terminal.basket(fuel("98", "70.00"), member=someone, points=500, wallet=True)
    body["redeem"]["coupons"] = [str(coupon.id)]
    sold = pay_rest_in_cash(terminal, body)
    assert sold.status_code == 201, sold.json()
    sale = sold.json()
    assert {d["source"] for d in sale["discounts"]} == {"tier", "coupon", "points"}
    paid = payments_of(session, sale["id"])
    assert paid["wallet"] == 50_000
    assert paid["wallet_bonus"] == 5_000
    assert paid["cash"] > 0
    discounts = sum(d["amount_fen"] for d in sale["discounts"])

    expected = paid["cash"] + paid["wallet"]
    assert expected == sale["gross_fen"] - discounts - paid["wallet_bonus"]
    assert uninvoiced(client, member_token)["total_fen"] == expected
    asked = ask(client, member_token, sale["id"])
    assert asked.status_code == 201, asked.json()
    assert asked.json()["amount_fen"] == expected
    assert asked.json()["sales"][0]["amount_fen"] == expected
    assert uninvoiced(client, member_token) == {"total_fen": 0, "sales": []}


def test_goods_in_the_basket_are_not_on_the_fuel_fapiao(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token)
    sold = terminal.commit(terminal.basket(fuel("92", "40.00"), goods(unit_price_fen=3_000), member=someone))
    assert sold.status_code == 201, sold.json()
    listed = uninvoiced(client, member_token)
    assert [(s["sale_id"], s["amount_fen"]) for s in listed["sales"]] == [(sold.json()["id"], 30_000)]


def test_a_partial_refund_before_invoicing_leaves_only_what_was_kept(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token)
    sale = buy_fuel(terminal, someone, "40.00")  # 30,000
    refunded = terminal.refund(sale["id"], lines=[{"line_id": "1", "liters": "10.00"}])
    assert refunded.status_code == 200, refunded.json()
    assert uninvoiced(client, member_token)["total_fen"] == 22_500
    asked = ask(client, member_token, sale["id"])
    assert asked.status_code == 201, asked.json()
    assert asked.json()["amount_fen"] == 22_500


def test_a_fully_refunded_sale_cannot_be_invoiced(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token)
    sale = buy_fuel(terminal, someone)
    assert terminal.refund(sale["id"]).status_code == 200
    assert uninvoiced(client, member_token)["sales"] == []
    refused = ask(client, member_token, sale["id"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "sale_not_invoiceable"


def test_a_member_cannot_invoice_someone_elses_sale(
    client: TestClient,
    session: Session,
    terminal: Terminal,
    member_token: MemberLogin,
    member: Any,
) -> None:
    other: Member = member()
    sale = buy_fuel(terminal, other)
    refused = ask(client, member_token, sale["id"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "sale_not_invoiceable"


def test_a_sale_is_invoiced_once(
    client: TestClient, session: Session, terminal: Terminal, member_token: MemberLogin
) -> None:
    someone = member_of(session, member_token)
    first, second = buy_fuel(terminal, someone), buy_fuel(terminal, someone)
    assert ask(client, member_token, first["id"]).status_code == 201
    again = ask(client, member_token, second["id"], first["id"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "sale_already_invoiced"
    # the refused request changed nothing: the second sale is still to be invoiced
    assert [s["sale_id"] for s in uninvoiced(client, member_token)["sales"]] == [second["id"]]
