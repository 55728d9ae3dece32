from __future__ import annotations

from tests.ledger_core.conftest import member_pii, signer

__all__ = ["member_pii", "signer"]
