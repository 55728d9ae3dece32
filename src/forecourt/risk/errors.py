"""Refusals of the risk rules.

Both are 409: the request is well formed and allowed to the caller, but the member's recent
activity (or an unverified device) conflicts with the rules in force — the same family as
``insufficient_points``. Not 429, which belongs to the per-IP rate limit and means "retry shortly"
(a daily limit does not lift in seconds); not 403, which here means the caller's role. Both keep
the request's changes: the decision row they wrote must survive the rollback of everything else,
so callers raise them before writing anything of their own.
"""

from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound


class RiskRejected(Conflict):
    code = "risk_rejected"
    default_message = "Refused by a risk rule; staff can review the decision."
    keeps_changes = True


class RiskStepUpRequired(Conflict):
    code = "risk_step_up_required"
    default_message = "This device is new for the member: confirm with an SMS code first."
    keeps_changes = True


class UnknownRiskRule(NotFound):
    code = "risk_rule_not_found"
    default_message = "No risk rule has that code."


class InvalidRiskParams(InvalidRequest):
    code = "invalid_risk_params"
    default_message = "The parameters do not fit the rule."


class RiskDecisionNotFound(NotFound):
    code = "risk_decision_not_found"
    default_message = "No risk decision has that id."
