from __future__ import annotations

from forecourt.errors import PermissionDenied


class DeviceStationMismatch(PermissionDenied):
    code = "device_station_mismatch"
    default_message = "The device belongs to another station than the one named in the request."
