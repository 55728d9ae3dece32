"""The POS fixtures (a priced station's terminal, members of a tier) for sales the back-test replays."""

from tests.pos.conftest import member, pii, signer, terminal

__all__ = ["member", "pii", "signer", "terminal"]
