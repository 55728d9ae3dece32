from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.db.base import Base


class Device(Base):
    """A terminal allowed to call the POS API for one station.

    The HMAC secret must be known to verify signatures, so it is stored encrypted (AES-GCM under the
    server key ring), never in clear.
    """

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stations.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    secret_ciphertext: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_devices_station_id", "station_id"),)


class DeviceNonce(Base):
    """Nonces seen recently; the primary key makes a replay fail to insert."""

    __tablename__ = "device_nonces"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]

    __table_args__ = (Index("ix_device_nonces_seen_at", "seen_at"),)
