"""The POS request signature of SPEC §7 (pure; shared by the server and by clients and tests).

    X-Signature = hex(HMAC-SHA256(secret, METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))))

PATH is the request path as sent, with ``?query`` appended when there is a query string.
"""

from __future__ import annotations

import hashlib
import hmac
import re

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-fA-F]{64}")


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), canonical_request(method, path, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def signature_matches(
    secret: str, signature: str, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> bool:
    if not SIGNATURE_PATTERN.fullmatch(signature):
        return False
    return hmac.compare_digest(sign(secret, method, path, timestamp, nonce, body), signature.lower())


def signed_headers(
    device_id: str, secret: str, method: str, path: str, body: bytes, *, timestamp: int, nonce: str
) -> dict[str, str]:
    """The four headers a client sends with a request."""
    ts = str(timestamp)
    return {
        "X-Device-Id": device_id,
        "X-Timestamp": ts,
        "X-Nonce": nonce,
        "X-Signature": sign(secret, method, path, ts, nonce, body),
    }
