"""Wallet test helpers: top-ups through the service, balances, wallet-paid baskets."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from forecourt.kit.actor import SYSTEM
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.wallet import service as wallet
from forecourt.wallet.models import WalletTopUp
from tests.pos.support import Terminal

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
    body = terminal.basket(*lines, member=member)
    body["redeem"]["wallet"] = True
    return body


def pay_rest_in_cash(terminal: Terminal, body: dict[str, Any]) -> Any:
    """Quote the basket, then commit it with the due (if any) paid in cash."""
    quoted = terminal.quote(body)
    assert quoted.status_code == 200, quoted.json()
    due = quoted.json()["due_fen"]
    return terminal.commit(body, payments=[{"method": "cash", "amount_fen": due}] if due else [])
