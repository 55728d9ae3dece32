from __future__ import annotations

from forecourt.errors import NotFound, Unauthorized


class DeviceAuthMissing(Unauthorized):
    code = "device_auth_missing"
    default_message = "Sign the request: X-Device-Id, X-Timestamp, X-Nonce and X-Signature are required."


class DeviceAuthMalformed(Unauthorized):
    code = "device_auth_malformed"


class DeviceUnknown(Unauthorized):
    code = "device_unknown"
    default_message = "No such device."


class DeviceRevoked(Unauthorized):
    code = "device_revoked"
    default_message = "This device's credential was revoked."


class TimestampSkew(Unauthorized):
    code = "timestamp_skew"
    default_message = "X-Timestamp is too far from the server's clock; sync the device clock."


class SignatureInvalid(Unauthorized):
    code = "signature_invalid"
    default_message = "X-Signature does not match the request."


class NonceReplayed(Unauthorized):
    code = "nonce_replayed"
    default_message = "This nonce was already used; every request needs a fresh one."


class DeviceNotFound(NotFound):
    code = "device_not_found"
    default_message = "No such device."
