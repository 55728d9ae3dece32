from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest


class InsufficientWalletBalance(Conflict):
    code = "insufficient_wallet_balance"
    default_message = "The wallet does not hold that much."


class InvalidTopUp(InvalidRequest):
    code = "invalid_top_up"
    default_message = "The top-up is not valid."


class InvalidBonusTiers(InvalidRequest):
    code = "invalid_bonus_tiers"
    default_message = "The top-up bonus tiers are not valid."
