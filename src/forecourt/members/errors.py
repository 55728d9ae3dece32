from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound, TooManyRequests, Unauthorized


class MemberNotFound(NotFound):
    code = "member_not_found"
    default_message = "No member matches."


class MemberImportNotFound(NotFound):
    code = "member_import_not_found"
    default_message = "No finished member import with that id."


class InvalidPhone(InvalidRequest):
    code = "invalid_phone"
    default_message = "That is not a valid mainland China mobile number."


class PhoneTaken(Conflict):
    code = "phone_taken"
    default_message = "A member with that phone number exists."


class InvalidPlate(InvalidRequest):
    code = "invalid_plate"
    default_message = "That is not a valid Chinese licence plate."


class PlateTaken(Conflict):
    code = "plate_taken"
    default_message = (
        "The plate belongs to another member; a transfer request was opened for staff to approve."
    )


class PlateNotBound(NotFound):
    code = "plate_not_bound"
    default_message = "The member has no such plate."


class TooManyPlates(Conflict):
    code = "too_many_plates"
    default_message = "The member already has the most plates allowed."


class PlateTransferNotFound(NotFound):
    code = "plate_transfer_not_found"
    default_message = "No such plate transfer request."


class PlateTransferClosed(Conflict):
    code = "plate_transfer_closed"
    default_message = "The transfer request was already decided."


class VehicleNotFound(NotFound):
    code = "vehicle_not_found"
    default_message = "The member has no such vehicle."


class InvalidProfile(InvalidRequest):
    code = "invalid_profile"


class InvalidCardNumber(InvalidRequest):
    code = "invalid_card_no"
    default_message = "A card number has 16 digits and a valid check digit."


class InvalidMemberCode(Unauthorized):
    code = "invalid_member_code"
    default_message = "The member code is unknown, forged or expired; ask the member to refresh it."


class InvalidReferralCode(InvalidRequest):
    code = "invalid_referral_code"
    default_message = "No member has that referral code."


class TagNotFound(NotFound):
    code = "tag_not_found"
    default_message = "No tag has that code."


class InvalidTag(InvalidRequest):
    code = "invalid_tag"


class TagCodeTaken(Conflict):
    code = "tag_code_taken"
    default_message = "A tag with that code exists."


class SmsCooldown(TooManyRequests):
    code = "sms_cooldown"
    default_message = "A code was sent less than a minute ago; wait before asking again."


class SmsRateLimited(TooManyRequests):
    code = "sms_rate_limited"
    default_message = "Too many codes requested; try again later."


class SmsCodeInvalid(Unauthorized):
    code = "sms_code_invalid"
    default_message = "The code is wrong or has expired."


class SmsCodeLocked(Unauthorized):
    code = "sms_code_locked"
    default_message = "Too many wrong codes; request a new one."


class MemberTokenInvalid(Unauthorized):
    code = "member_token_invalid"
    default_message = "The member token is unknown, expired or revoked; log in again."


class MemberDeleted(Conflict):
    code = "member_deleted"
    default_message = "The member deleted their account."


class InvalidImport(InvalidRequest):
    code = "invalid_import"


class PlateTransferRequested(PlateTaken):
    """``plate_taken``, after opening a transfer request that must survive the refusal."""

    keeps_changes = True
    default_message = (
        "The plate belongs to another member; a transfer request was opened for staff to approve "
        "once they have seen the vehicle licence."
    )
