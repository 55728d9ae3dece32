"""Who is acting: the subject every service call and audit row names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

ActorKind = Literal["staff", "member", "device", "system", "cli"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None
    label: str
    role: str | None = None
    station_id: uuid.UUID | None = None
    """Set for staff bound to one station (managers, attendants): they act on that station alone."""
    permissions: frozenset[str] = field(default_factory=frozenset)
    partner_code: str | None = None
    """Set for partner accounts: the partner whose coupons they verify."""
    ip: str | None = None

    def may_act_on_station(self, station_id: uuid.UUID) -> bool:
        return self.station_id is None or self.station_id == station_id

    def has(self, permission: str) -> bool:
        return self.kind in ("system", "cli") or permission in self.permissions


SYSTEM = Actor(kind="system", id=None, label="system")


def cli_actor() -> Actor:
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(kind="cli", id=None, label=f"cli:{user}")
