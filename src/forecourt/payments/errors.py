from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound


class ProviderUnavailable(Conflict):
    code = "payment_provider_unavailable"
    default_message = "That payment provider is not offered here."


class InvalidPaymentAmount(InvalidRequest):
    code = "invalid_payment_amount"
    default_message = "The amount is not one that can be paid or refunded."


class PaymentIntentNotFound(NotFound):
    code = "payment_intent_not_found"
    default_message = "No such payment."


class PaymentNotPayable(Conflict):
    code = "payment_not_payable"
    default_message = "This payment is no longer waiting to be paid."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    default_message = "This payment cannot be refunded."


class TopUpAlreadySpent(Conflict):
    code = "top_up_already_spent"
    default_message = "The member has spent the money of this top-up; it cannot be refunded."


class ProviderRefused(Conflict):
    code = "payment_provider_refused"
    default_message = "The payment provider refused the request."
