"""Wallet payments racing each other for real (committed transactions, one thread per POS
request), on SQLite and PostgreSQL alike: a wallet is never overdrawn, whatever the interleaving,
and a sale that loses the race fails cleanly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import SYSTEM
from forecourt.ledger.chain import Signer
from forecourt.ledger.models import Entry, LedgerAccount
from forecourt.pos.models import Sale, SalePayment
from forecourt.wallet import service as wallet
from tests.pos.support import Terminal, fuel
from tests.pos.test_pos_concurrency import answer, race
from tests.wallet.support import Shop, open_shop, shown_code, tills

pytestmark = pytest.mark.committed

THREADS = 12
TOPPED_UP = 50_000
"""¥500 topped up: ¥500 principal and the default ¥50 bonus, ¥550 to spend."""
PER_SALE = 7_500
"""10 L of 92# at ¥7.50, to be paid entirely from the wallet."""
LOSING = {(409, "insufficient_wallet_balance"), (400, "payment_mismatch")}
"""How a sale fails when the wallet cannot pay it: taken by another sale between quote and posting
(409), or already too low to cover it when priced, so the empty payments no longer match (400)."""


@pytest.fixture
def shop(committed_database: Database, test_settings: Settings, signer: Signer) -> Shop:
    """A member who topped up ¥500, at a committed station."""

    def fund(session: Session, member_id: uuid.UUID) -> object:
        return wallet.top_up(
            session, signer, SYSTEM, member_id, TOPPED_UP, method="cash", idempotency_key="race"
        )

    return open_shop(committed_database, test_settings, fund)


@pytest.fixture
def terminals(shop: Shop) -> Iterator[list[Terminal]]:
    with tills(shop, THREADS) as opened:
        yield opened


def cny_entries_total(session: Session) -> int:
    """What all the money accounts' entries add up to (program accounts keep no running balance)."""
    total = session.scalar(
        select(func.sum(Entry.amount))
        .join(LedgerAccount, LedgerAccount.id == Entry.account_id)
        .where(LedgerAccount.asset == "cny")
    )
    return int(total or 0)


def wallet_sale(terminal: Terminal, shown: dict[str, str]) -> dict[str, Any]:
    body = terminal.basket(fuel("92", "10.00"))
    body["member"] = shown
    body["redeem"]["wallet"] = True
    return {**body, "pos_txn_id": terminal.next_txn(), "payments": []}


def test_simultaneous_wallet_sales_never_overdraw_the_wallet(
    shop: Shop, terminals: list[Terminal], committed_database: Database
) -> None:
    shown = shown_code(shop)

    def sell(index: int) -> Any:
        terminal = terminals[index]
        return terminal.post("/api/v1/pos/transactions", wallet_sale(terminal, shown), key=str(uuid.uuid4()))

    responses = race(THREADS, sell)
    answers = [answer(r) for r in responses]
    assert all(a == (201, None) or a in LOSING for a in answers), [r.json() for r in responses]
    sold = [r.json() for r in responses if r.status_code == 201]
    held = TOPPED_UP + 5_000
    assert sold, "no sale got through"
    assert all(s["wallet_fen"] == PER_SALE and s["due_fen"] == 0 for s in sold)
    assert len(sold) <= held // PER_SALE

    with committed_database.transaction(write=False) as session:
        purse = wallet.balances(session, shop.member_id)
        assert purse.principal_fen >= 0
        assert purse.bonus_fen >= 0
        paid = session.scalar(
            select(func.sum(SalePayment.amount_fen))
            .join(Sale, Sale.id == SalePayment.sale_id)
            .where(Sale.member_id == shop.member_id, SalePayment.method.in_(["wallet", "wallet_bonus"]))
        )
        assert paid == len(sold) * PER_SALE <= held
        assert purse.total_fen == held - paid
        accounts = session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.member_id == shop.member_id, LedgerAccount.asset == "cny"
            )
        ).all()
        for account in accounts:
            entries = session.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == account.id))
            assert entries == account.balance >= 0
        assert cny_entries_total(session) == 0

    # each sale's answer reports the balance its own payment left, all different
    after = sorted(s["member_after"]["wallet_balance_fen"] for s in sold)
    assert after == [held - PER_SALE * n for n in range(len(sold), 0, -1)]


def test_simultaneous_top_ups_and_wallet_sales_keep_the_wallet_exact(
    shop: Shop, terminals: list[Terminal], committed_database: Database, signer: Signer
) -> None:
    """Half the threads top up ¥100 (no bonus) at the counter while the others spend ¥75 each."""
    shown = shown_code(shop)

    def act(index: int) -> Any:
        if index % 2:
            with committed_database.transaction() as session:
                wallet.top_up(
                    session,
                    signer,
                    SYSTEM,
                    shop.member_id,
                    10_000,
                    method="cash",
                    idempotency_key=f"t{index}",
                )
            return None
        terminal = terminals[index]
        return terminal.post("/api/v1/pos/transactions", wallet_sale(terminal, shown), key=str(uuid.uuid4()))

    responses = [r for r in race(THREADS, act) if r is not None]
    assert all(answer(r) == (201, None) or answer(r) in LOSING for r in responses), [
        r.json() for r in responses
    ]
    sold = sum(1 for r in responses if r.status_code == 201)
    with committed_database.transaction(write=False) as session:
        purse = wallet.balances(session, shop.member_id)
        assert purse.principal_fen >= 0
        assert purse.bonus_fen >= 0
        assert purse.total_fen == TOPPED_UP + 5_000 + (THREADS // 2) * 10_000 - sold * PER_SALE
        assert cny_entries_total(session) == 0
