"""Provider configuration from FORECOURT_PAYMENTS_* variables: the sandbox never runs in production
on the development secret, whose notifications anyone who read the code could forge."""

from __future__ import annotations

import pytest

from forecourt.config import ConfigError
from forecourt.payments.config import from_environment


def test_development_offers_the_sandbox_with_its_development_secret() -> None:
    assert "sandbox" in from_environment({}).providers


def test_production_has_no_sandbox_unless_asked() -> None:
    assert "sandbox" not in from_environment({"FORECOURT_ENV": "production"}).providers


@pytest.mark.parametrize("secret", [None, "a-real-secret-from-the-vault"])
def test_production_refuses_the_sandbox_whatever_its_secret(secret: str | None) -> None:
    """Any member could pay their own sandbox intent and be credited real wallet money."""
    env = {"FORECOURT_ENV": "production", "FORECOURT_PAYMENTS_SANDBOX_ENABLED": "true"}
    if secret:
        env["FORECOURT_PAYMENTS_SANDBOX_SECRET"] = secret
    with pytest.raises(ConfigError):
        from_environment(env)
