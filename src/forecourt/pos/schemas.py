from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PosStatus(BaseModel):
    device_id: str
    station: str
    station_name: str
    station_open: bool
    server_time: datetime
    server_timestamp: int
