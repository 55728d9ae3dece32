"""Duplicate notifications racing each other for real (committed transactions, one thread each)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from forecourt.config import Settings
from forecourt.db.session import Database
from forecourt.kit.crypto import keyring_for
from forecourt.ledger.chain import signer_for
from forecourt.members.pii import Pii
from forecourt.payments import service
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.wallet import service as wallet
from forecourt.wallet.models import WalletTopUp
from tests.members.support import make_member
from tests.payments.support import SANDBOX_SECRET, all_providers

pytestmark = pytest.mark.committed

THREADS = 8


def test_eight_copies_of_a_payment_notification_at_once_credit_the_wallet_once(
    committed_database: Database, test_settings: Settings
):
    database = committed_database
    payments = all_providers()
    signer = signer_for(test_settings.ledger_signing_key)
    pii = Pii(keyring_for(test_settings.encryption_keys), test_settings.secret_key)
    with database.transaction() as session:
        member = make_member(session, pii)
        intent, _ = service.create_top_up_intent(session, payments, member.id, 50_000, "sandbox")
        member_id, out_trade_no = member.id, intent.out_trade_no
    sandbox = Sandbox(SANDBOX_SECRET)
    same = sandbox.notification("paid", out_trade_no, 50_000, notify_id="DUP")
    messages = [same] * (THREADS // 2) + [
        sandbox.notification("paid", out_trade_no, 50_000) for _ in range(THREADS // 2)
    ]
    start = threading.Barrier(THREADS)

    def deliver(index: int) -> service.Receipt:
        headers, body = messages[index]
        start.wait(timeout=60)
        return database.run(
            lambda session: service.receive_notification(session, signer, payments, "sandbox", headers, body)
        )

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        receipts = list(pool.map(deliver, range(THREADS)))
    assert all(receipt.accepted for receipt in receipts)
    applied = [receipt.outcome for receipt in receipts if not receipt.duplicate]
    assert applied.count("paid") == 1
    assert sum(receipt.duplicate for receipt in receipts) == THREADS // 2 - 1
    with database.transaction(write=False) as session:
        purse = wallet.balances(session, member_id)
        assert (purse.principal_fen, purse.bonus_fen) == (50_000, 5_000)
        assert (
            session.query(WalletTopUp).filter(WalletTopUp.member_id == uuid.UUID(str(member_id))).count() == 1
        )
