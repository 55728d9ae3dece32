"""The tamper evidence of the ledger: canonical posting content, per-account hash chains, Ed25519.

A posting's ``content_hash`` is SHA-256 over its canonical JSON (ids, asset, reason, key, time,
legs by account code); the server signs that hash. Each entry on a member account links to the
previous entry of that account: ``hash = SHA-256(prev_hash | seq | account code | amount |
content_hash)``. Account codes hold pseudonymous ids only, so erasing personal data never breaks a
chain.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical_content(
    *,
    posting_id: str,
    asset: str,
    idempotency_key: str,
    reason: str,
    occurred_at: datetime,
    reverses_id: str | None,
    legs: list[tuple[str, int]],
) -> bytes:
    document = {
        "id": posting_id,
        "asset": asset,
        "key": idempotency_key,
        "reason": reason,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "reverses": reverses_id,
        "legs": sorted([code, amount] for code, amount in legs),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(prev_hash: str, seq: int, account_code: str, amount: int, content_hash: str) -> str:
    return sha256_hex(f"{prev_hash}|{seq}|{account_code}|{amount}|{content_hash}".encode())


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, content_hash: str) -> str:
        return base64.b64encode(self.private_key.sign(bytes.fromhex(content_hash))).decode()

    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def verify_signature(public_key: Ed25519PublicKey, content_hash: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), bytes.fromhex(content_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=4)
def signer_for(spec: str) -> Signer:
    """``key_id:base64(32-byte Ed25519 seed)`` (``FORECOURT_LEDGER_SIGNING_KEY``)."""
    key_id, _, encoded = spec.partition(":")
    seed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    if not key_id or len(seed) != 32:
        raise ValueError("FORECOURT_LEDGER_SIGNING_KEY is key_id:base64(32 bytes)")
    return Signer(key_id=key_id, private_key=Ed25519PrivateKey.from_private_bytes(seed))
