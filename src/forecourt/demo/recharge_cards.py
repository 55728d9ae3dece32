"""The demo's prepaid recharge cards (SPEC W1): a printed batch of ¥200 cards, some sold at the
counter (activated), some of those redeemed by drivers into their wallets — all through the
wallet context's card service."""

from __future__ import annotations

import csv
import io
import random
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.actor import Actor
from forecourt.ledger.chain import Signer
from forecourt.members.models import Member
from forecourt.wallet import cards

FACE_FEN = 20_000
PRINTED, SOLD, REDEEMED = 40, 16, 10


def load_recharge_cards(
    database: Database, settings: Settings, signer: Signer, actor: Actor, rng: random.Random
) -> int:
    """Print, sell and redeem cards; returns how many were redeemed."""

    def print_batch(session: Session) -> str:
        batch = cards.create_batch(session, actor, face_fen=FACE_FEN, size=PRINTED, note="演示 ¥200 储值卡")
        return cards.export_batch(session, actor, settings.secret_key, batch.id)

    printed = list(csv.DictReader(io.StringIO(database.run(print_batch))))
    sold = printed[:SOLD]

    def sell(session: Session) -> list[uuid.UUID]:
        for card in sold:
            cards.activate(session, actor, card["code"])
        return list(session.scalars(select(Member.id).where(Member.status == "active").order_by(Member.id)))

    members = database.run(sell)
    takers = rng.sample(members, min(REDEEMED, len(members)))
    for card, member_id in zip(sold, takers, strict=False):
        database.run(
            lambda session, card=card, member_id=member_id: cards.redeem(  # type: ignore[misc]
                session, signer, settings.secret_key, actor, member_id, card["code"], card["pin"]
            )
        )
    return len(takers)
