"""How personal data is shown to staff who may not see it in full."""

from __future__ import annotations


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***, Li Lei → L*****."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_id_number(value: str | None) -> str | None:
    """530102199001011234 → 5301**********1234."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
