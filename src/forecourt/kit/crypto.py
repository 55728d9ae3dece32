"""Field-level encryption and keyed blind indexes.

``KeyRing`` encrypts with AES-256-GCM under its primary key and decrypts with any key it holds, so
keys rotate by adding a new key first in ``FORECOURT_ENCRYPTION_KEYS`` and re-encrypting at leisure.
A ciphertext is ``key_id:base64(nonce || ciphertext+tag)``; the associated data binds a ciphertext
to its purpose (a device secret cannot be pasted in as a member's phone).

``blind_index`` is an HMAC of a normalised value under the server secret: equal values have equal
indexes, so exact look-up works without storing the value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class CryptoError(ValueError):
    """A key ring is misconfigured or a ciphertext cannot be decrypted."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    primary_id: str

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse ``kid:base64key,kid2:base64key``; the first key is the primary."""
        keys: dict[str, bytes] = {}
        primary: str | None = None
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, sep, encoded = item.partition(":")
            if not sep or not key_id:
                raise CryptoError("each encryption key is written key_id:base64")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError as exc:
                raise CryptoError(f"encryption key {key_id!r} is not base64") from exc
            if len(key) != 32:
                raise CryptoError(f"encryption key {key_id!r} must be 32 bytes (AES-256)")
            keys[key_id] = key
            primary = primary or key_id
        if primary is None:
            raise CryptoError("no encryption key configured")
        return cls(keys=keys, primary_id=primary)

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.primary_id]).encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{self.primary_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, purpose: str) -> str:
        key_id, sep, encoded = token.partition(":")
        key = self.keys.get(key_id)
        if not sep or key is None:
            raise CryptoError(f"no key {key_id!r} to decrypt with")
        raw = base64.urlsafe_b64decode(encoded)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag as exc:
            raise CryptoError("ciphertext was tampered with or belongs to another purpose") from exc


def blind_index(secret_key: str, purpose: str, normalised_value: str) -> str:
    return hmac.new(
        secret_key.encode(), f"{purpose}\x00{normalised_value}".encode(), hashlib.sha256
    ).hexdigest()


def sha256_hex(value: str) -> str:
    """Digest of a high-entropy secret (bearer tokens): fast, and enough because the secret is random."""
    return hashlib.sha256(value.encode()).hexdigest()


_keyrings: dict[str, KeyRing] = {}


def keyring_for(spec: str) -> KeyRing:
    """The parsed key ring of a ``FORECOURT_ENCRYPTION_KEYS`` value (parsed once)."""
    ring = _keyrings.get(spec)
    if ring is None:
        ring = _keyrings[spec] = KeyRing.parse(spec)
    return ring
