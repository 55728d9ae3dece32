"""Payments taken at the pump by QR code carry the provider's order number, so the provider's bill
matches them like online top-ups (SPEC W5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.members.models import Member
from forecourt.reconciliation import service
from forecourt.reconciliation.models import ReconciliationItem
from tests.pos.support import Terminal, fuel
from tests.reconciliation.support import wechat_bill
from tests.reconciliation.test_reconciliation import DAY, upload


def test_a_qr_payment_at_the_pump_matches_the_providers_bill(
    client, session: Session, staff, terminal: Terminal, member: Callable[..., Member]
) -> None:
    with time_machine.travel(datetime.fromisoformat("2026-11-24T14:00:00+08:00"), tick=False):
        sold = terminal.commit(
            terminal.basket(fuel("92", "10.00"), member=member()),
            payments=[{"method": "wechat", "amount_fen": 7_500, "reference": "POS-0001"}],
        )
    assert sold.status_code == 201, sold.json()
    upload(
        client,
        staff("finance").headers,
        wechat_bill(
            ("2026-11-24 14:00:02", "POS-0001", "SUCCESS", "75.00"),
            ("2026-11-24 15:00:00", "POS-0002", "SUCCESS", "20.00"),
        ),
    )
    run = service.reconcile(session, "wechat", DAY)
    assert run.summary["matched"]["count"] == 1
    items = {i.reference: i.classification for i in session.scalars(select(ReconciliationItem))}
    assert items == {"POS-0002": "missing_in_ours"}


def test_an_order_number_billed_twice_is_a_difference_not_a_match(
    client, session: Session, staff, terminal: Terminal, member: Callable[..., Member]
) -> None:
    with time_machine.travel(datetime.fromisoformat("2026-11-24T14:00:00+08:00"), tick=False):
        sold = terminal.commit(
            terminal.basket(fuel("92", "10.00"), member=member()),
            payments=[{"method": "wechat", "amount_fen": 7_500, "reference": "POS-0003"}],
        )
    assert sold.status_code == 201, sold.json()
    upload(
        client,
        staff("finance").headers,
        wechat_bill(
            ("2026-11-24 14:00:02", "POS-0003", "SUCCESS", "75.00"),
            ("2026-11-24 14:00:09", "POS-0003", "SUCCESS", "75.00"),
        ),
    )
    service.reconcile(session, "wechat", DAY)
    item = session.scalar(select(ReconciliationItem).where(ReconciliationItem.reference == "POS-0003"))
    assert item is not None
    assert (item.classification, item.ours_fen, item.theirs_fen) == ("amount_mismatch", 7_500, 15_000)
