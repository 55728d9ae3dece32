"""The pure tests of the risk rules: windows, local days, parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from forecourt.risk import domain

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATE = {"max_payments": 3, "window_seconds": 60}


def test_the_rolling_window_holds_what_happened_after_its_start() -> None:
    at = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
    earlier = [at - timedelta(seconds=60), at - timedelta(seconds=59), at - timedelta(seconds=1)]
    assert domain.payments_rate_refusal(RATE, at, earlier) is None  # 60 s ago is outside
    refused = domain.payments_rate_refusal(RATE, at, [*earlier, at])
    assert refused is not None
    assert refused.reasons["payments_in_window"] == 3


def test_payments_after_the_moment_checked_are_not_counted() -> None:
    at = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
    later = [at + timedelta(seconds=s) for s in (1, 2, 3)]
    assert domain.payments_rate_refusal(RATE, at, later) is None


def test_the_local_day_runs_from_midnight_to_midnight_in_beijing() -> None:
    start, end = domain.day_bounds(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), SHANGHAI)
    assert start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert domain.day_bounds(datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC), SHANGHAI)[0] == end


def test_the_daily_limit_allows_exactly_the_limit() -> None:
    limit = {"max_paid_fen": 1_000_000}
    assert domain.paid_per_day_refusal(limit, "2026-03-01", 999_999, 1) is None
    assert domain.paid_per_day_refusal(limit, "2026-03-01", 1_000_000, 1) is not None


def test_parameters_must_be_whole_numbers_of_the_rule_in_range() -> None:
    assert domain.params_problems("paid_per_day", {"max_paid_fen": 1_000_000}) == []
    assert domain.params_problems("paid_per_day", {"max_paid_fen": True}) == [
        "max_paid_fen must be a whole number"
    ]
    assert domain.params_problems("new_device_step_up", {}) == []
    assert domain.params_problems("new_device_step_up", {"x": 1}) == ["unknown parameter 'x'"]
    assert domain.params_problems("nope", {}) == ["there is no risk rule 'nope'"]
