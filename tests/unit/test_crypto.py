from __future__ import annotations

import base64

import pytest

from forecourt.kit.crypto import CryptoError, KeyRing, blind_index


def _key(seed: bytes) -> str:
    return base64.urlsafe_b64encode(seed.ljust(32, b"x")).decode()


def test_encrypted_text_round_trips_and_hides_the_plaintext():
    ring = KeyRing.parse(f"k1:{_key(b'one')}")
    token = ring.encrypt("13800138000", "phone")
    assert "13800138000" not in token
    assert token.startswith("k1:")
    assert ring.decrypt(token, "phone") == "13800138000"


def test_the_same_text_encrypts_differently_each_time():
    ring = KeyRing.parse(f"k1:{_key(b'one')}")
    assert ring.encrypt("张三", "name") != ring.encrypt("张三", "name")


def test_keys_rotate_new_key_encrypts_old_key_still_decrypts():
    old = KeyRing.parse(f"k1:{_key(b'one')}")
    rotated = KeyRing.parse(f"k2:{_key(b'two')},k1:{_key(b'one')}")
    legacy = old.encrypt("secret", "p")
    assert rotated.decrypt(legacy, "p") == "secret"
    assert rotated.encrypt("secret", "p").startswith("k2:")


def test_a_ciphertext_cannot_be_used_for_another_purpose_or_tampered_with():
    ring = KeyRing.parse(f"k1:{_key(b'one')}")
    token = ring.encrypt("secret", "device-secret")
    with pytest.raises(CryptoError):
        ring.decrypt(token, "phone")
    key_id, body = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.decrypt(f"{key_id}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", "device-secret")


def test_an_unknown_key_id_cannot_decrypt():
    with pytest.raises(CryptoError):
        KeyRing.parse(f"k1:{_key(b'one')}").decrypt("k9:AAAA", "p")


@pytest.mark.parametrize(
    "spec", ["", "nokey", "k1:not-base64!!", f"k1:{base64.urlsafe_b64encode(b'short').decode()}"]
)
def test_misconfigured_key_rings_are_refused(spec):
    with pytest.raises(CryptoError):
        KeyRing.parse(spec)


def test_blind_indexes_are_stable_keyed_and_purpose_bound():
    assert blind_index("k", "phone", "13800138000") == blind_index("k", "phone", "13800138000")
    assert blind_index("k", "phone", "13800138000") != blind_index("other", "phone", "13800138000")
    assert blind_index("k", "phone", "13800138000") != blind_index("k", "card", "13800138000")
