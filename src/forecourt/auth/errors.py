from __future__ import annotations

from forecourt.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthorized,
)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "The username or password is wrong."


class AccountDisabled(Unauthorized):
    code = "account_disabled"
    default_message = "This account is disabled."


class TooManyLoginAttempts(TooManyRequests):
    code = "too_many_login_attempts"
    default_message = "Too many failed logins; wait before trying again."


class TokenMissing(Unauthorized):
    code = "token_missing"
    default_message = "Send 'Authorization: Bearer <token>'."


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    default_message = "The token is unknown, expired or revoked."


class StaffNotFound(NotFound):
    code = "staff_not_found"
    default_message = "No such staff account."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = "That username is already in use."


class InvalidStaffAccount(InvalidRequest):
    code = "invalid_staff_account"


class WeakPassword(InvalidRequest):
    code = "weak_password"


class CannotChangeOwnAccess(PermissionDenied):
    code = "cannot_change_own_access"
    default_message = "You cannot disable yourself or change your own role."
