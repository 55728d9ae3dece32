from __future__ import annotations

from forecourt.errors import InvalidRequest, NotFound


class TierNotFound(NotFound):
    code = "tier_not_found"
    default_message = "No tier has that code."


class InvalidTierChange(InvalidRequest):
    code = "invalid_tier_change"
