"""Staff passwords are stored as Argon2id hashes with the OWASP minimum parameters."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher, Type

from forecourt.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    burn_verification_time,
    hash_password,
    needs_rehash,
    verify_password,
)

OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_a_hash_is_argon2id_with_the_owasp_minimum_parameters():
    assert hash_password("correct-horse-battery").startswith(OWASP_PREFIX)


def test_a_hash_never_contains_the_password():
    password = "correct-horse-battery"
    assert password not in hash_password(password)


def test_the_same_password_hashes_differently_each_time_because_of_the_salt():
    assert hash_password("correct-horse-battery") != hash_password("correct-horse-battery")


def test_the_right_password_verifies():
    assert verify_password(hash_password("correct-horse-battery"), "correct-horse-battery") is True


@pytest.mark.parametrize(
    "attempt",
    ["wrong-horse-battery", "Correct-horse-battery", "correct-horse-battery ", "", "correct-horse-batter"],
)
def test_any_other_password_does_not_verify(attempt):
    assert verify_password(hash_password("correct-horse-battery"), attempt) is False


def test_passwords_in_chinese_and_at_the_length_limits_round_trip():
    for password in ("加油站会员密码很安全", "x" * MIN_LENGTH, "y" * MAX_LENGTH):
        hashed = hash_password(password)
        assert verify_password(hashed, password)
        assert not verify_password(hashed, password[:-1])


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=19456,t=2,p=1$garbage", "$2b$12$abc"])
def test_a_corrupt_stored_hash_is_a_failed_verification_not_a_crash(stored):
    assert verify_password(stored, "correct-horse-battery") is False


def test_a_fresh_hash_needs_no_rehash():
    assert needs_rehash(hash_password("correct-horse-battery")) is False


def test_a_hash_made_with_weaker_parameters_still_verifies_but_needs_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("correct-horse-battery")
    assert verify_password(weak, "correct-horse-battery")
    assert needs_rehash(weak) is True


def test_an_argon2i_hash_needs_rehash_to_argon2id():
    old = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.I).hash("pw-pw-pw-pw")
    assert needs_rehash(old) is True


@pytest.mark.parametrize("password", ["anything", "", "密码", "z" * MAX_LENGTH])
def test_burning_verification_time_for_an_unknown_user_never_raises(password):
    assert burn_verification_time(password) is None


def test_burning_verification_time_costs_about_one_real_verification():
    """The unknown-user path must cost a verification, so response times cannot reveal usernames."""
    burn_verification_time("warm-up")  # the dummy hash is computed once
    hashed = hash_password("correct-horse-battery")

    def fastest(action: Callable[[], object]) -> float:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            action()
            timings.append(time.perf_counter() - started)
        return min(timings)

    one_verification = fastest(lambda: verify_password(hashed, "wrong-horse-battery"))
    one_burn = fastest(lambda: burn_verification_time("wrong-horse-battery"))
    assert one_burn > one_verification / 4
