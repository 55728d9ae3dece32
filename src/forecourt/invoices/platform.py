"""The tax platform that issues fapiao (SPEC W6), behind one interface.

A platform takes an :class:`IssueOrder` and returns the platform's reference of the issued
fapiao, or raises :class:`PlatformFailure` (the request then becomes ``failed`` and staff may
retry it). :class:`SandboxPlatform` issues at once with a made-up reference, for development and
tests. The app uses ``app.state.invoice_platform`` when set, else the sandbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from forecourt.kit.ids import new_id


@dataclass(frozen=True)
class IssueOrder:
    request_id: uuid.UUID
    title: str
    tax_number: str | None
    email: str
    amount_fen: int
    sale_ids: tuple[uuid.UUID, ...]


class PlatformFailure(Exception):
    """The platform refused or could not be reached; the message is kept on the request."""


class TaxPlatform(Protocol):
    name: str

    def issue(self, order: IssueOrder) -> str:
        """Issue the fapiao; return the platform's reference for it."""
        ...


class SandboxPlatform:
    name = "sandbox"

    def issue(self, order: IssueOrder) -> str:
        if order.amount_fen <= 0:
            raise PlatformFailure("nothing to invoice")
        return f"SBX-{new_id().hex[:20].upper()}"
