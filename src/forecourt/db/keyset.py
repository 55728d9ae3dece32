"""Keyset ("seek") pagination conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute


def before_key(columns: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows whose sort key is less than ``values`` (for newest-first pages), typed per column."""
    typed = [literal(value, column.type) for value, column in zip(values, columns, strict=True)]
    return tuple_(*columns) < tuple_(*typed)
