"""The POS request signature of SPEC §7, as integrators compute it (pure: no database, no app)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from forecourt.devices.signing import (
    NONCE_PATTERN,
    canonical_request,
    sign,
    signature_matches,
    signed_headers,
)

SECRET = "test-secret-0123456789"
TIMESTAMP = "1763776800"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# Computed outside Python with coreutils and OpenSSL:
#   printf 'GET\n/api/v1/pos/status\n1763776800\nnonce-0001\n<sha256 of "">' \
#     | openssl dgst -sha256 -hmac 'test-secret-0123456789'
STATUS_VECTOR = "ee53d8ccb19e73d4ac7ea8c8c993f240944db023da4a36197d71ee3d6ff902b0"
#   body '{"station":"S001"}', path '/api/v1/pos/quote?dry=1', nonce 'abc-DEF_12345678'
QUOTE_BODY = b'{"station":"S001"}'
QUOTE_BODY_SHA256 = "bba2d553cf683b9cae4841a0ac25a439d4bc9ee029a631584d303da7d7aab41b"
QUOTE_VECTOR = "31757386700e106299c1b43c7dea2eb2c0d24661d1efc7e5115024fb7e21e0b8"


def _reference_signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """SPEC §7 written out independently of the module under test."""
    message = f"{method}\n{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


# --- the canonical request ---------------------------------------------------------------------------------


def test_the_canonical_request_is_method_path_timestamp_nonce_and_body_digest_on_five_lines():
    canonical = canonical_request(
        "POST", "/api/v1/pos/quote?dry=1", TIMESTAMP, "abc-DEF_12345678", QUOTE_BODY
    )
    assert canonical == (
        b"POST\n/api/v1/pos/quote?dry=1\n1763776800\nabc-DEF_12345678\n" + QUOTE_BODY_SHA256.encode()
    )
    assert canonical.split(b"\n") == [
        b"POST",
        b"/api/v1/pos/quote?dry=1",
        b"1763776800",
        b"abc-DEF_12345678",
        QUOTE_BODY_SHA256.encode(),
    ]


def test_an_empty_body_is_represented_by_the_digest_of_nothing():
    canonical = canonical_request("GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"")
    assert canonical.endswith(b"\n" + EMPTY_SHA256.encode())
    assert not canonical.endswith(b"\n")


def test_the_method_is_uppercased_in_the_canonical_request():
    assert canonical_request("get", "/p", TIMESTAMP, "nonce-0001", b"").startswith(b"GET\n")


def test_the_body_digest_is_lowercase_hex():
    digest = canonical_request("POST", "/p", TIMESTAMP, "nonce-0001", b"\x00\xff binary").split(b"\n")[-1]
    assert digest == hashlib.sha256(b"\x00\xff binary").hexdigest().encode()
    assert digest == digest.lower()


# --- the signature -----------------------------------------------------------------------------------------


def test_the_signature_of_a_status_call_matches_the_published_vector():
    assert sign(SECRET, "GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"") == STATUS_VECTOR


def test_the_signature_of_a_call_with_a_body_and_query_matches_the_published_vector():
    signature = sign(SECRET, "POST", "/api/v1/pos/quote?dry=1", TIMESTAMP, "abc-DEF_12345678", QUOTE_BODY)
    assert signature == QUOTE_VECTOR


@pytest.mark.parametrize(
    ("method", "path", "nonce", "body"),
    [
        ("GET", "/api/v1/pos/status", "nonce-0001", b""),
        ("POST", "/api/v1/pos/transactions", "Zz9_-Zz9_-Zz9", '{"name": "张三"}'.encode()),
        ("DELETE", "/api/v1/pos/authorizations/7?reason=x%20y", "a" * 64, b"\n\n\n"),
    ],
)
def test_the_signature_agrees_with_an_independent_hmac_sha256(method, path, nonce, body):
    expected = _reference_signature(SECRET, method, path, TIMESTAMP, nonce, body)
    assert sign(SECRET, method, path, TIMESTAMP, nonce, body) == expected


def test_a_non_ascii_secret_is_used_as_utf8():
    expected = _reference_signature("密钥-secret", "GET", "/p", TIMESTAMP, "nonce-0001", b"")
    assert sign("密钥-secret", "GET", "/p", TIMESTAMP, "nonce-0001", b"") == expected


def test_the_signature_is_64_lowercase_hex_characters():
    signature = sign(SECRET, "GET", "/p", TIMESTAMP, "nonce-0001", b"")
    assert len(signature) == 64
    assert signature == signature.lower()
    int(signature, 16)


SIGNED = (SECRET, "POST", "/api/v1/pos/quote", TIMESTAMP, "nonce-0001", QUOTE_BODY)


@pytest.mark.parametrize(
    "changed",
    [
        ("other-secret", *SIGNED[1:]),
        (SECRET, "PUT", *SIGNED[2:]),
        (SECRET, "POST", "/api/v1/pos/transactions", *SIGNED[3:]),
        (SECRET, "POST", "/api/v1/pos/quote?x=1", *SIGNED[3:]),
        (*SIGNED[:3], "1763776801", *SIGNED[4:]),
        (*SIGNED[:4], "nonce-0002", QUOTE_BODY),
        (*SIGNED[:5], QUOTE_BODY + b" "),
    ],
    ids=["secret", "method", "path", "query", "timestamp", "nonce", "body"],
)
def test_every_signed_part_changes_the_signature(changed):
    assert sign(*changed) != sign(*SIGNED)


# --- verification ------------------------------------------------------------------------------------------


def test_a_signature_matches_the_request_it_signs():
    assert signature_matches(SECRET, STATUS_VECTOR, "GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"")


def test_signature_matching_ignores_the_case_of_the_hex_digits():
    upper = STATUS_VECTOR.upper()
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(STATUS_VECTOR))
    for variant in (upper, mixed):
        assert signature_matches(SECRET, variant, "GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"")


@pytest.mark.parametrize(
    "signature",
    ["", STATUS_VECTOR[:-1], STATUS_VECTOR + "0", "0" * 64, STATUS_VECTOR[::-1], f" {STATUS_VECTOR}"],
    ids=["empty", "truncated", "extended", "zeros", "reversed", "padded"],
)
def test_other_signatures_do_not_match(signature):
    assert not signature_matches(SECRET, signature, "GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"")


def test_a_method_signed_in_lowercase_matches_the_same_method_in_uppercase():
    signature = sign(SECRET, "post", "/p", TIMESTAMP, "nonce-0001", b"")
    assert signature_matches(SECRET, signature, "POST", "/p", TIMESTAMP, "nonce-0001", b"")


def test_a_non_ascii_signature_simply_does_not_match():
    """A header decoded as latin-1 may hold any byte; a mismatch, never an exception."""
    assert not signature_matches(SECRET, "é" * 64, "GET", "/api/v1/pos/status", TIMESTAMP, "nonce-0001", b"")


# --- the headers a client sends ----------------------------------------------------------------------------


def test_signed_headers_are_the_four_headers_of_the_spec():
    headers = signed_headers(
        "dev_0123456789abcdef",
        SECRET,
        "GET",
        "/api/v1/pos/status",
        b"",
        timestamp=1763776800,
        nonce="nonce-0001",
    )
    assert headers == {
        "X-Device-Id": "dev_0123456789abcdef",
        "X-Timestamp": "1763776800",
        "X-Nonce": "nonce-0001",
        "X-Signature": STATUS_VECTOR,
    }


# --- nonces ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonce",
    ["abcdefgh", "A" * 64, "0123456789", "with-dash_and_underscore", "UUID4f3e9a1b2c3d4e5f6a7b8c9d0e1f2a3b"],
)
def test_nonces_of_8_to_64_letters_digits_dashes_and_underscores_are_valid(nonce):
    assert NONCE_PATTERN.fullmatch(nonce)


@pytest.mark.parametrize(
    "nonce",
    [
        "",
        "abcdefg",
        "A" * 65,
        "abcd efgh",
        "abcd.efgh",
        "abcd/efgh",
        "abcd+efgh",
        "abcd=efgh",
        "abcdéfgh",
        "abcd\tefgh",
        "１２３４５６７８",
    ],
    ids=[
        "empty",
        "7-chars",
        "65-chars",
        "space",
        "dot",
        "slash",
        "plus",
        "equals",
        "accent",
        "tab",
        "fullwidth",
    ],
)
def test_nonces_outside_the_alphabet_or_length_are_invalid(nonce):
    assert not NONCE_PATTERN.fullmatch(nonce)


def test_a_nonce_with_a_trailing_newline_is_invalid():
    """``$`` also matches before a final newline: the pattern must anchor at the very end of the value."""
    assert not NONCE_PATTERN.fullmatch("abcdefgh\n")
    # 65 characters: would not even fit device_nonces.nonce
    assert not NONCE_PATTERN.fullmatch("A" * 64 + "\n")
