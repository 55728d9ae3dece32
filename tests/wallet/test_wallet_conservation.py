"""Money is conserved (bank-style): after a random run of top-ups, wallet-paid sales and partial
and full refunds for a few members, the money ledger's entries add up to zero, every wallet holds
exactly top-ups + bonuses − wallet paid + wallet refunded (principal and bonus each on their own),
and the ledger verifies (hashes, signatures, balances)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.ledger.chain import Signer
from forecourt.ledger.models import Entry, LedgerAccount
from forecourt.ledger.verify import public_keys, verify
from forecourt.members.models import Member
from forecourt.pos.models import Sale, SalePayment
from tests.pos.support import Terminal, fuel, goods
from tests.wallet.support import pay_rest_in_cash, purse, top_up, wallet_basket

pytestmark = pytest.mark.usefixtures("no_risk_limits")

STEPS = 40


def program_total(session: Session, purpose: str) -> int:
    return int(
        session.scalar(
            select(func.sum(Entry.amount))
            .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
            .where(
                LedgerAccount.asset == "cny",
                LedgerAccount.member_id.is_(None),
                LedgerAccount.purpose == purpose,
            )
        )
        or 0
    )


@pytest.mark.parametrize("seed", [7, 2026])
def test_money_is_conserved_across_top_ups_wallet_sales_and_refunds(
    terminal: Terminal, session: Session, signer: Signer, member: Callable[..., Member], seed: int
) -> None:
    rng = random.Random(seed)
    people = [member() for _ in range(3)]
    topped: dict[uuid.UUID, int] = defaultdict(int)
    bonus: dict[uuid.UUID, int] = defaultdict(int)
    sales = wallet_sales = 0
    back: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    open_sales: list[tuple[uuid.UUID, str, Decimal]] = []  # (member, sale, litres left)

    for _ in range(STEPS):
        action = rng.choice(["top_up", "sale", "sale", "refund", "refund"])
        someone = rng.choice(people)
        if action == "top_up":
            amount = rng.choice([50_000, 50_000, 100_000, 12_345, 1, 49_999])
            row = top_up(session, signer, someone, amount)
            topped[someone.id] += row.amount_fen
            bonus[someone.id] += row.bonus_fen
        elif action == "sale":
            litres = Decimal(rng.randint(100, 6_000)) / 100
            lines = [fuel(rng.choice(["92", "95", "0"]), f"{litres:.2f}")]
            if rng.random() < 0.4:
                lines.append(goods(quantity=rng.randint(1, 3), unit_price_fen=rng.randint(1, 5_000)))
            sold = pay_rest_in_cash(terminal, wallet_basket(terminal, someone, *lines))
            assert sold.status_code == 201, sold.json()
            sales += 1
            wallet_sales += bool(sold.json()["wallet_fen"])
            open_sales.append((someone.id, sold.json()["id"], litres))
        elif open_sales:
            index = rng.randrange(len(open_sales))
            owner, sale_id, left = open_sales[index]
            refund_litres = Decimal(rng.randint(1, int(left * 100))) / 100
            full = rng.random() < 0.3 or refund_litres == left
            refunded = terminal.refund(
                sale_id, lines=None if full else [{"line_id": "1", "liters": f"{refund_litres:.2f}"}]
            )
            assert refunded.status_code == 200, refunded.json()
            for payment in refunded.json()["refund"]["payments"]:
                back[owner, payment["method"]] += payment["amount_fen"]
            if full:
                open_sales.pop(index)
            else:
                open_sales[index] = (owner, sale_id, left - refund_litres)

    assert sales, "the run should sell"
    assert wallet_sales, "some of it from the wallet"
    session.expire_all()
    wallet_paid: dict[tuple[uuid.UUID | None, str], int] = defaultdict(int)
    for buyer, method, amount in session.execute(
        select(Sale.member_id, SalePayment.method, SalePayment.amount_fen).join(
            Sale, Sale.id == SalePayment.sale_id
        )
    ):
        wallet_paid[buyer, method] += amount
    for someone in people:
        principal, gift = purse(session, someone)
        assert (
            principal == topped[someone.id] - wallet_paid[someone.id, "wallet"] + back[someone.id, "wallet"]
        )
        assert (
            gift
            == bonus[someone.id] - wallet_paid[someone.id, "wallet_bonus"] + back[someone.id, "wallet_bonus"]
        )
        assert principal >= 0
        assert gift >= 0

    spent = sum(v for (_, method), v in wallet_paid.items() if method in ("wallet", "wallet_bonus"))
    returned = sum(v for (_, method), v in back.items() if method in ("wallet", "wallet_bonus"))
    assert program_total(session, "top_ups") == -sum(topped.values())
    assert program_total(session, "bonus_funding") == -sum(bonus.values())
    assert program_total(session, "sales") == spent - returned
    total = session.scalar(
        select(func.sum(Entry.amount))
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(LedgerAccount.asset == "cny")
    )
    assert total == 0
    report = verify(session, public_keys(signer, ""), stop_at_first=False)
    assert report.intact, report.problems
