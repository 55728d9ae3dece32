"""Which column each wallet movement lands in (pure): the report reads the member side of every
``cny`` posting, so a debit of the wallet is spending and a credit is money coming in."""

from __future__ import annotations

import pytest

from forecourt.finance.domain import wallet_figure


@pytest.mark.parametrize(
    ("reason", "purpose", "amount", "expected"),
    [
        ("wallet.top_up", "principal", 50_000, ("top_ups_fen", 50_000)),
        ("wallet.top_up", "bonus", 5_000, ("bonus_given_fen", 5_000)),
        ("wallet.sale", "principal", -30_000, ("wallet_spent_fen", 30_000)),
        ("wallet.sale", "bonus", -2_000, ("bonus_spent_fen", 2_000)),
        ("wallet.refund", "principal", 7_500, ("wallet_refunds_fen", 7_500)),
        ("wallet.refund", "bonus", 500, ("bonus_refunded_fen", 500)),
        ("wallet.top_up_refund", "principal", -20_000, ("top_up_refunds_fen", 20_000)),
        ("wallet.top_up_refund", "bonus", -1_000, ("bonus_taken_back_fen", 1_000)),
        ("wallet.top_up_refund_failed", "principal", 20_000, ("top_up_refunds_fen", -20_000)),
        ("wallet.bonus_expiry", "bonus", -3_000, ("expired_fen", 3_000)),
        ("wallet.adjustment", "principal", 100, ("other_fen", 100)),
    ],
)
def test_each_wallet_movement_lands_in_its_column(
    reason: str, purpose: str, amount: int, expected: tuple[str, int]
) -> None:
    assert wallet_figure(reason, purpose, amount) == expected
