from __future__ import annotations

from forecourt.errors import Conflict, InvalidRequest, NotFound


class InvalidCondition(InvalidRequest):
    code = "invalid_rule_condition"
    default_message = "The rule's condition is not a valid CEL boolean expression."


class InvalidRule(InvalidRequest):
    code = "invalid_rule"
    default_message = "The rule is not valid."


class RuleNotFound(NotFound):
    code = "rule_not_found"
    default_message = "No earning rule has that code."


class RuleExists(Conflict):
    code = "rule_exists"
    default_message = "A rule with that code exists; change it with PUT."


class RuleChangedMeanwhile(Conflict):
    code = "rule_version_conflict"
    default_message = "The rule was changed by someone else since you read it; reload and try again."


class InvalidRuleFile(InvalidRequest):
    code = "invalid_rule_file"
    default_message = "The rule file is not valid YAML of the exported shape."


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    default_message = "You have checked in today already."
