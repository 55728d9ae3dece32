"""Rule actions carried out by other contexts (``{"type": "hook", "hook": NAME}``).

A context registers a hook at import time (the coupons context will register ``coupon.grant``); a
rule naming a hook nobody registered is refused when it is saved. Hooks run inside the sale's
transaction, after its postings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class HookContext:
    member_id: uuid.UUID
    rule_code: str
    source: str
    """What triggered it, e.g. ``sale:<transaction id>``; hooks use it to act at most once."""
    occurred_at: datetime
    line_id: str | None = None


Hook = Callable[[Session, HookContext, Mapping[str, Any]], None]
ParamsCheck = Callable[[Session, Mapping[str, Any]], str | None]
"""What is wrong with a rule's hook parameters (a template that does not exist …), or None."""
_hooks: dict[str, Hook] = {}
_checks: dict[str, ParamsCheck] = {}


def register_hook(name: str, hook: Hook, check: ParamsCheck | None = None) -> None:
    _hooks[name] = hook
    if check is not None:
        _checks[name] = check


def unregister_hook(name: str) -> None:
    _hooks.pop(name, None)
    _checks.pop(name, None)


def params_problem(session: Session, name: str, params: Mapping[str, Any]) -> str | None:
    """Checked when a rule is saved, so a typo cannot make every matching sale fail."""
    check = _checks.get(name)
    return check(session, params) if check is not None else None


def is_registered(name: str) -> bool:
    return name in _hooks


def run_hook(session: Session, name: str, context: HookContext, params: Mapping[str, Any]) -> None:
    hook = _hooks.get(name)
    if hook is None:  # the rule was saved while the hook existed; its context is gone now
        raise LookupError(f"no hook named {name!r} is registered")
    hook(session, context, params)
