from __future__ import annotations

from forecourt.errors import AppError, Conflict, InvalidRequest


class InsufficientBalance(AppError):
    status = 409
    code = "insufficient_balance"
    default_message = "The balance does not cover this."


class InsufficientPoints(InsufficientBalance):
    code = "insufficient_points"
    default_message = "The member does not have that many points available."


class IdempotencyKeyConflict(Conflict):
    code = "idempotency_key_conflict"
    default_message = "That idempotency key was used for a different request."


class UnbalancedPosting(InvalidRequest):
    code = "unbalanced_posting"
    default_message = "A posting's entries must sum to zero."


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"
    default_message = "The amount must be a positive whole number."


class PendingAlreadySettled(Conflict):
    code = "pending_already_settled"
    default_message = "The pending points were already posted or voided."


class PostingNotFound(AppError):
    status = 404
    code = "posting_not_found"
    default_message = "No such posting."


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_message = "The posting was already reversed."


class AdjustmentNotFound(AppError):
    status = 404
    code = "adjustment_not_found"
    default_message = "No such point adjustment."


class AdjustmentClosed(Conflict):
    code = "adjustment_closed"
    default_message = "The adjustment was already decided."


class SelfApproval(AppError):
    status = 403
    code = "self_approval"
    default_message = "An adjustment must be approved by someone other than who asked for it."


class InvalidAdjustment(InvalidRequest):
    code = "invalid_adjustment"
