"""Rule conditions in CEL, the Common Expression Language (https://cel.dev).

Why CEL: it is a published, non-Turing-complete standard made for exactly this (policy conditions
evaluated on untrusted-author data, used by Kubernetes, Envoy and Firebase); it has no access to
the host, so a condition can never run code or touch the database; and the maintained Rust
implementation (``common-expression-language``) compiles once and evaluates in well under a
microsecond. ``eval`` is never used.

A condition sees three maps (the fields are listed in ``FIELDS``): ``basket`` (station, time,
holiday, amounts), ``member`` (tier, birthday week, tags …) and, for rules applied per line,
``line`` (kind, grade, category, litres, amounts). Building CEL maps costs more than evaluating
them, so a rule set only builds the fields its conditions name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cel
import structlog

from forecourt.rules.errors import InvalidCondition

log = structlog.get_logger(__name__)

FIELDS: dict[str, dict[str, Any]] = {
    "basket": {
        "station": "S001",
        "region": "KM-N",
        "weekday": 6,
        "hour": 9,
        "date": "2026-11-28",
        "day": 28,
        "month": 11,
        "is_holiday": False,
        "is_workday": False,
        "gross_fen": 30_000,
        "fuel_liters": 40.0,
        "lines": 1,
    },
    "member": {
        "tier": "silver",
        "birthday_week": False,
        "birthday_today": False,
        "tags": ["commuter"],
        "days_since_join": 120,
        "anonymous": False,
    },
    "line": {
        "kind": "fuel",
        "grade": "95",
        "category": "fuel",
        "sku": "",
        "liters": 40.0,
        "quantity": 0,
        "gross_fen": 30_000,
        "paid_fen": 29_400,
    },
}
"""Every field a condition may read, with a sample value of its type (used to check conditions)."""

_FIELD_USE = re.compile(r"\b(basket|member|line)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_USE = re.compile(r"\b(basket|member|line)\b(?!\s*\.)")
_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
"""The variable a macro binds (``member.tags.exists(t, …)``): CEL reports it as a reference."""


@dataclass(frozen=True)
class Condition:
    """A compiled condition and the fields it reads."""

    source: str
    program: Any
    fields: Mapping[str, frozenset[str]]

    @property
    def reads_line(self) -> bool:
        return "line" in self.fields

    def holds(self, context: Any) -> bool:
        """True when the condition is true in ``context`` (a ``cel.Context``, see ``context_for``).
        A condition that fails at run time (a division by zero, say) does not hold: a rule never
        awards points by accident."""
        try:
            return self.program.execute(context) is True
        except Exception as exc:
            log.warning("rule_condition_failed", condition=self.source, error=str(exc))
            return False


def compile_condition(source: str, *, allow_line: bool) -> Condition | None:
    """Compile and check a condition (empty: none). Unknown variables or fields, a syntax error or
    a result that is not a boolean on sample data are ``InvalidCondition``."""
    text = source.strip()
    if not text:
        return None
    if len(text) > 2000:
        raise InvalidCondition("A condition is at most 2,000 characters.")
    try:
        program = cel.compile(text)
    except ValueError as exc:
        raise InvalidCondition(f"The condition does not parse: {exc}", condition=text) from exc
    allowed = {"basket", "member"} | ({"line"} if allow_line else set())
    variables = set(program.references()["variables"]) - set(_MACRO_VARIABLE.findall(text))
    unknown = variables - allowed
    if unknown:
        hint = " (only rules applied per line see `line`)" if "line" in unknown else ""
        raise InvalidCondition(
            f"Unknown variables: {', '.join(sorted(unknown))}{hint}.",
            condition=text,
            allowed=sorted(allowed),
        )
    fields: dict[str, set[str]] = {name: set() for name in variables}
    for name, field in _FIELD_USE.findall(text):
        if field not in FIELDS[name]:
            raise InvalidCondition(
                f"`{name}` has no field `{field}`.", condition=text, fields=sorted(FIELDS[name])
            )
        fields[name].add(field)
    for name in _WHOLE_USE.findall(text):
        fields[name] = set(FIELDS[name])  # the whole map is used (e.g. `basket["x"]`)
    condition = Condition(text, program, {name: frozenset(names) for name, names in fields.items()})
    sample = {name: FIELDS[name] for name in variables}
    try:
        result = program.execute(cel.Context(variables=sample))
    except Exception as exc:
        raise InvalidCondition(f"The condition fails on sample data: {exc}", condition=text) from exc
    if not isinstance(result, bool):
        raise InvalidCondition("A condition must be true or false.", condition=text)
    return condition


def fields_needed(conditions: Iterable[Condition | None]) -> dict[str, frozenset[str]]:
    """The union of the fields a set of conditions reads, per variable."""
    needed: dict[str, set[str]] = {}
    for condition in conditions:
        if condition is None:
            continue
        for name, names in condition.fields.items():
            needed.setdefault(name, set()).update(names)
    return {name: frozenset(names) for name, names in needed.items()}


def context_for(values: Mapping[str, Mapping[str, Any]], needed: Mapping[str, frozenset[str]]) -> Any:
    """A ``cel.Context`` holding, of each variable in ``values``, only the fields in ``needed``."""
    return cel.Context(
        variables={
            name: {field: values[name][field] for field in fields}
            for name, fields in needed.items()
            if name in values
        }
    )


def set_line(context: Any, line: Mapping[str, Any], needed: Mapping[str, frozenset[str]]) -> None:
    """Point ``context``'s ``line`` at another line (only the fields the conditions read)."""
    fields = needed.get("line")
    if fields is not None:
        context.add_variable("line", {field: line[field] for field in fields})
