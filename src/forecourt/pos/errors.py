from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound, PermissionDenied


class DeviceStationMismatch(PermissionDenied):
    code = "device_station_mismatch"
    default_message = "The device belongs to another station than the one named in the request."


class StationClosed(Conflict):
    code = "station_closed"
    default_message = "The station is closed: it takes no sales."


class NozzleGradeMismatch(InvalidRequest):
    code = "nozzle_grade_mismatch"
    default_message = "That nozzle dispenses another grade."


class OccurredInFuture(InvalidRequest):
    code = "occurred_at_in_future"
    default_message = "occurred_at is more than 5 minutes ahead of the server clock."


class OccurredTooLongAgo(InvalidRequest):
    code = "occurred_at_too_old"
    default_message = "Sales are accepted up to 7 days after they happened."


class PaymentMismatch(InvalidRequest):
    code = "payment_mismatch"
    default_message = "The payments do not add up to the amount due."


class InvalidPointsAmount(InvalidRequest):
    code = "invalid_points_amount"
    default_message = "Points are redeemed in whole hundreds (100 points = ¥1)."


class InsufficientPointsForRedemption(Conflict):
    code = "insufficient_points"
    default_message = "The member does not hold that many points."


class PointsExceedPayable(InvalidRequest):
    code = "points_exceed_payable"
    default_message = "That many points would pay more than the amount payable."


class DuplicatePosTransaction(Conflict):
    code = "duplicate_pos_txn_id"
    default_message = (
        "This station already committed a sale with that pos_txn_id (under another Idempotency-Key)."
    )


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    default_message = "No sale of this station has that id."


class RefundNotPossible(Conflict):
    code = "refund_not_possible"
    default_message = "The sale cannot be refunded that way."


class UnknownLine(InvalidRequest):
    code = "unknown_line"
    default_message = "The sale has no line with that line_id."


class RefundExceedsSale(InvalidRequest):
    code = "refund_exceeds_sale"
    default_message = "That is more than what remains of the line to refund."


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"
    default_message = "No prepay authorization of this station has that id."


class AuthorizationClosed(Conflict):
    code = "authorization_closed"
    default_message = "The authorization is no longer open."


class AuthorizationExpired(Conflict):
    code = "authorization_expired"
    default_message = "The authorization expired (30 minutes after it was made)."


class DispensedExceedsPrepaid(InvalidRequest):
    code = "dispensed_exceeds_prepaid"
    default_message = "The dispensed volume costs more than was prepaid."


class WalletNeedsMemberCode(InvalidRequest):
    code = "wallet_needs_member_code"
    default_message = (
        "The wallet pays only for a member who shows their member code (the QR code in the app): "
        "identify the member by member_code to pay from the wallet."
    )
