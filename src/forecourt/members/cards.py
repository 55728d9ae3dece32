"""Card numbers: 16 digits, the last a Luhn check digit (typing mistakes are caught before a look-up)."""

from __future__ import annotations

import secrets

CARD_PREFIX = "8860"
"""Issuer prefix of the chain's member cards."""


def luhn_check_digit(payload: str) -> str:
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_card_no(value: str) -> bool:
    return (
        len(value) == 16 and value.isascii() and value.isdigit() and luhn_check_digit(value[:-1]) == value[-1]
    )


def new_card_no() -> str:
    payload = CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(11))
    return payload + luhn_check_digit(payload)


def normalise_card_no(raw: str) -> str:
    """Digits only: spaces and dashes that people type between groups are dropped."""
    return "".join(ch for ch in raw if ch not in " -\t")
