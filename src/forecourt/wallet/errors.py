from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound


class InsufficientWalletBalance(Conflict):
    code = "insufficient_wallet_balance"
    default_message = "The wallet does not hold that much."


class InvalidTopUp(InvalidRequest):
    code = "invalid_top_up"
    default_message = "The top-up is not valid."


class InvalidBonusTiers(InvalidRequest):
    code = "invalid_bonus_tiers"
    default_message = "The top-up bonus tiers are not valid."


# --- recharge cards --------------------------------------------------------------------------------


class RechargeCardBatchNotFound(NotFound):
    code = "recharge_card_batch_not_found"
    default_message = "No recharge card batch has that id."


class RechargeCardsAlreadyExported(Conflict):
    code = "recharge_cards_already_exported"
    default_message = "The batch's cards and PINs were exported once already; printing is a one-time act."


class RechargeCardNotFound(NotFound):
    code = "recharge_card_not_found"
    default_message = "No recharge card has that code."


class RechargeCardNotPrinted(Conflict):
    code = "recharge_card_not_printed"
    default_message = "The card's batch was never exported for printing: it has no PIN yet."


class RechargeCardNotActivatable(Conflict):
    code = "recharge_card_not_activatable"
    default_message = "The card was redeemed or voided; it cannot be activated."


class RechargeCardPinWrong(Conflict):
    """A wrong PIN: the try is counted even though the request fails."""

    code = "recharge_card_pin_wrong"
    default_message = "The PIN does not match the card."
    keeps_changes = True


class RechargeCardLocked(Conflict):
    code = "recharge_card_locked"
    default_message = "Too many wrong PINs: the card is locked. Ask at a station."


class RechargeCardNowLocked(RechargeCardLocked):
    """The wrong PIN that locked the card: counted, and the lock kept."""

    keeps_changes = True


class RechargeCardNotActive(Conflict):
    code = "recharge_card_not_active"
    default_message = "The card was not activated at a counter; it cannot be redeemed yet."


class RechargeCardVoid(Conflict):
    code = "recharge_card_void"
    default_message = "The card was voided."


class RechargeCardAlreadyRedeemed(Conflict):
    code = "recharge_card_already_redeemed"
    default_message = "The card was redeemed already."
