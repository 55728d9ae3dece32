"""The wallet part of a member's export; kept on erasure (money is finance's record)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.members.pii import Pii
from forecourt.members.privacy import export_section
from forecourt.wallet import service
from forecourt.wallet.models import RechargeCard, WalletTopUp


@export_section("wallet", ("wallet_top_ups", "recharge_cards"))
def _wallet(session: Session, pii: Pii, member: Member) -> dict[str, Any]:
    purse = service.balances(session, member.id)
    top_ups = session.scalars(
        select(WalletTopUp).where(WalletTopUp.member_id == member.id).order_by(WalletTopUp.created_at)
    )
    cards = session.scalars(
        select(RechargeCard).where(RechargeCard.member_id == member.id).order_by(RechargeCard.redeemed_at)
    )
    return {
        "wallet": {"principal_fen": purse.principal_fen, "bonus_fen": purse.bonus_fen},
        "recharge_cards": [
            {"code": c.code, "face_fen": c.face_fen, "redeemed_at": c.redeemed_at} for c in cards
        ],
        "top_ups": [
            {"at": t.created_at, "amount_fen": t.amount_fen, "bonus_fen": t.bonus_fen, "method": t.method}
            for t in top_ups
        ],
    }
