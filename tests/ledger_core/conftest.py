from __future__ import annotations

import pytest

from forecourt.config import Settings
from forecourt.kit.crypto import keyring_for
from forecourt.ledger.chain import Signer, signer_for
from forecourt.members.pii import Pii


@pytest.fixture(scope="session")
def signer(test_settings: Settings) -> Signer:
    return signer_for(test_settings.ledger_signing_key)


@pytest.fixture(scope="session")
def member_pii(test_settings: Settings) -> Pii:
    return Pii(keyring_for(test_settings.encryption_keys), test_settings.secret_key)
