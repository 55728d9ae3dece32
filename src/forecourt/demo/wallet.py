"""The demo's stored value (SPEC W1): drivers who keep money in their wallet and pay with it.

Ride-hailing drivers, truckers and some commuters top up at the counter or online, ¥500 (with the
¥50 bonus) more often than not, and pay their fuel from the wallet through the same POS checkout
(``"wallet": true``); when the wallet runs low they top up again just before the sale. A few other
drivers topped up once and still hold the balance. Every top-up goes through
``wallet.service.top_up``, every wallet payment through ``pos.service.commit``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from forecourt.db.session import Database
from forecourt.kit.actor import Actor
from forecourt.ledger.chain import Signer
from forecourt.wallet import service as wallet

WALLET_SHARE = {
    "ride_hailing": 0.7,
    "diesel_truck": 0.6,
    "commuter": 0.3,
    "weekend": 0.15,
    "occasional": 0.05,
}
"""The share of each persona's drivers who pay from the wallet."""
HOLDER_SHARE = 0.05
"""Other drivers who topped up once and hold the balance."""
AMOUNTS = (50_000,) * 5 + (100_000, 30_000, 20_000, 80_000)
"""Top-ups in fen: mostly ¥500 (the ¥50 bonus tier), some more, some less."""
METHODS = ("wechat",) * 4 + ("alipay",) * 2 + ("cash", "bank_card", "transfer")
LOW_FEN = 40_000
"""Below this the driver tops up before fueling."""


def wallet_payers(rng: random.Random, personas: dict[uuid.UUID, str]) -> set[uuid.UUID]:
    """The drivers (by persona) who pay from their wallet."""
    return {
        member_id
        for member_id, persona in sorted(personas.items())
        if rng.random() < WALLET_SHARE.get(persona, 0.0)
    }


def top_up(
    session: Session,
    signer: Signer,
    actor: Actor,
    rng: random.Random,
    member_id: uuid.UUID,
    at: datetime,
    station: str | None,
    key: str,
) -> None:
    method = rng.choice(METHODS)
    wallet.top_up(
        session,
        signer,
        actor,
        member_id,
        rng.choice(AMOUNTS),
        method=method,
        idempotency_key=f"demo:{key}",
        reference=f"DEMO-{key}" if method != "cash" else None,
        station=station if method in ("cash", "bank_card") else None,
        occurred_at=at,
    )


def top_up_if_low(
    session: Session,
    signer: Signer,
    actor: Actor,
    rng: random.Random,
    member_id: uuid.UUID,
    at: datetime,
    station: str,
    key: str,
) -> None:
    """A driver about to pay from a wallet that runs low tops it up at the counter first."""
    if wallet.balances(session, member_id).total_fen < LOW_FEN:
        top_up(session, signer, actor, rng, member_id, at - timedelta(minutes=2), station, key)


def holders(
    database: Database,
    signer: Signer,
    actor: Actor,
    rng: random.Random,
    drivers: Sequence[uuid.UUID],
    payers: set[uuid.UUID],
    start: datetime,
    end: datetime,
) -> int:
    """Opening top-ups: every wallet payer before the period, plus a few drivers who only hold a
    balance. Returns how many top-ups."""
    others = [member_id for member_id in drivers if member_id not in payers and rng.random() < HOLDER_SHARE]
    span = (end - start).total_seconds()

    def load(session: Session) -> int:
        count = 0
        for member_id in sorted(payers):
            at = start - timedelta(days=rng.uniform(1, 20))
            top_up(session, signer, actor, rng, member_id, at, None, f"open:{member_id}")
            count += 1
        for member_id in others:
            at = start + timedelta(seconds=rng.uniform(0, span))
            top_up(session, signer, actor, rng, member_id, at, None, f"hold:{member_id}")
            count += 1
        return count

    return database.run(load)
