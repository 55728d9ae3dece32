from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound, PermissionDenied


class StationNotFound(NotFound):
    code = "station_not_found"
    default_message = "No station has that code."


class RegionNotFound(NotFound):
    code = "region_not_found"
    default_message = "No region has that code."


class StationCodeTaken(Conflict):
    code = "station_code_taken"
    default_message = "A station with that code exists."


class RegionCodeTaken(Conflict):
    code = "region_code_taken"
    default_message = "A region with that code exists."


class InvalidStation(InvalidRequest):
    code = "invalid_station"


class UnknownGrade(InvalidRequest):
    code = "unknown_grade"
    default_message = "No such grade."


class InvalidPrice(InvalidRequest):
    code = "invalid_price"


class InvalidPumpLayout(InvalidRequest):
    code = "invalid_pump_layout"


class NoPrice(Conflict):
    code = "no_price"
    default_message = "The station has no price for that grade at that time."


class StationClosed(Conflict):
    code = "station_closed"
    default_message = "The station is closed."


class StationOutOfScope(PermissionDenied):
    code = "station_out_of_scope"
    default_message = "You may act on your own station only."
