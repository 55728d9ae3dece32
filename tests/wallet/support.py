"""Wallet test helpers: top-ups through the service, balances, wallet-paid baskets."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from forecourt.app import create_app
from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.kit.actor import SYSTEM
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.wallet import service as wallet
from forecourt.wallet.models import WalletTopUp
from tests.devices.support import IssuedCredential
from tests.fixtures.builders import unique
from tests.members.support import make_member
from tests.pos.support import Terminal, priced_station, shown_member_code
from tests.wallet.conftest import switch_off_risk_rules

MEMBERS = "/api/v1/members"


def top_up(
    session: Session, signer: Signer, member: Member | uuid.UUID, amount_fen: int, method: str = "cash"
) -> WalletTopUp:
    """Money into the member's wallet through ``wallet.service.top_up`` (a fresh key each time)."""
    member_id = member if isinstance(member, uuid.UUID) else member.id
    row = wallet.top_up(
        session, signer, SYSTEM, member_id, amount_fen, method=method, idempotency_key=str(uuid.uuid4())
    )
    session.flush()
    return row


def purse(session: Session, member: Member | uuid.UUID) -> tuple[int, int]:
    """(principal, bonus) of the member's wallet, read fresh."""
    session.expire_all()
    held = wallet.balances(session, member if isinstance(member, uuid.UUID) else member.id)
    return held.principal_fen, held.bonus_fen


def wallet_basket(terminal: Terminal, member: Member, *lines: dict[str, Any]) -> dict[str, Any]:
    """A basket of ``member`` asking the wallet to pay what is left."""
    return terminal.basket(*lines, member=member, wallet=True)


def pay_rest_in_cash(terminal: Terminal, body: dict[str, Any]) -> Any:
    """Quote the basket, then commit it with the due (if any) paid in cash."""
    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.json()
    due = quoted.json()["due_fen"]
    return terminal.commit(body, payments=[{"method": "cash", "amount_fen": due}] if due else [])


@dataclass(frozen=True)
class Shop:
    """A committed station with its POS credential and one member, for sales racing for real."""

    app: FastAPI
    credential: IssuedCredential
    member_id: uuid.UUID


def open_shop(database: Database, settings: Settings, fund: Callable[[Session, uuid.UUID], object]) -> Shop:
    """Commit a priced station, a till credential and a member funded by ``fund``; the risk rules
    are off (a dozen payments in a second: the rate limit is not what such tests are about)."""
    app = create_app(settings, database=database)
    with database.transaction() as session:
        station = priced_station(session, code=unique("S"))
        issued = devices.create_device(session, SYSTEM, app.state.keyring, station=station.code, name="till")
        member = make_member(session, app.state.pii)
        fund(session, member.id)
        switch_off_risk_rules(session)
        shop = Shop(
            app,
            IssuedCredential(device_id=issued.device.id, secret=issued.secret, station=station),
            member.id,
        )
    return shop


def shown_code(shop: Shop) -> dict[str, str]:
    """The shop's member showing their member code at the till (what lets the wallet pay)."""
    database: Database = shop.app.state.database
    member = database.run(lambda session: session.get_one(Member, shop.member_id), write=False)
    return shown_member_code(shop.app, member)


@contextmanager
def tills(shop: Shop, count: int) -> Iterator[list[Terminal]]:
    clients = [TestClient(shop.app, raise_server_exceptions=False) for _ in range(count)]
    try:
        yield [Terminal(client, shop.credential) for client in clients]
    finally:
        for client in clients:
            client.close()
