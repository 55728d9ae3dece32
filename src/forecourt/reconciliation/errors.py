from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound


class InvalidStatement(InvalidRequest):
    code = "invalid_statement"
    default_message = "The file is not a bill of that provider's layout."


class ReconciliationItemNotFound(NotFound):
    code = "reconciliation_item_not_found"
    default_message = "No such reconciliation item."


class ItemAlreadyResolved(Conflict):
    code = "reconciliation_item_resolved"
    default_message = "This difference has already been resolved."


class ResolutionNotAllowed(Conflict):
    code = "reconciliation_resolution_not_allowed"
    default_message = "That resolution does not fit this difference."
