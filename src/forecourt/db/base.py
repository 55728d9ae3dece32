"""The declarative base every context's models derive from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase

from forecourt.db.types import JSONDocument, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONDocument,
    }


def import_all_models() -> None:
    """Import every context's models so ``Base.metadata`` is complete (Alembic, schema checks)."""
    import forecourt.audit.models
    import forecourt.auth.models
    import forecourt.coupons.models
    import forecourt.db.idempotency
    import forecourt.db.outbox
    import forecourt.devices.models
    import forecourt.invoices.models
    import forecourt.jobs.models
    import forecourt.ledger.models
    import forecourt.members.models
    import forecourt.payments.models
    import forecourt.pos.models
    import forecourt.reconciliation.models
    import forecourt.risk.models
    import forecourt.rules.models
    import forecourt.stations.models
    import forecourt.tiers.models
    import forecourt.wallet.models  # noqa: F401
