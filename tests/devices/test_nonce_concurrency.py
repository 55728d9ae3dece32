"""Replay protection holds under real concurrency: a nonce is accepted once, however many copies race in.

These tests commit for real and run the requests on real threads (``committed``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.app import create_app
from forecourt.db.session import Database
from forecourt.devices import service as devices
from forecourt.devices.models import DeviceNonce
from forecourt.kit.actor import SYSTEM
from forecourt.kit.crypto import keyring_for
from forecourt.stations import service as stations
from tests.devices.support import STATUS, IssuedCredential, error_of, fresh_nonce
from tests.fixtures.builders import unique

pytestmark = pytest.mark.committed

THREADS = 16


@pytest.fixture
def committed_app(committed_database: Database, test_settings) -> FastAPI:
    return create_app(test_settings, database=committed_database)


@pytest.fixture
def committed_credential(committed_database: Database, test_settings) -> IssuedCredential:
    keyring = keyring_for(test_settings.encryption_keys)
    with committed_database.transaction() as session:
        station = stations.create_station(session, SYSTEM, code=unique("S"), name="并发测试站")
        issued = devices.create_device(session, SYSTEM, keyring, station=station.code, name="till")
        device_id, secret = issued.device.id, issued.secret
    return IssuedCredential(device_id=device_id, secret=secret, station=station)


@pytest.fixture
def clients(committed_app: FastAPI) -> Iterator[list[TestClient]]:
    clients = [TestClient(committed_app, raise_server_exceptions=False) for _ in range(THREADS)]
    yield clients
    for client in clients:
        client.close()


def _race(clients: list[TestClient], headers_for: list[dict[str, str]]) -> list[tuple[int, dict]]:
    start = threading.Barrier(len(clients))

    def call(index: int) -> tuple[int, dict]:
        start.wait(timeout=30)
        response = clients[index].get(STATUS, headers=headers_for[index])
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(call, range(len(clients))))


def _nonces_kept(database: Database, device_id: str) -> list[str]:
    with database.transaction(write=False) as session:
        return list(session.scalars(select(DeviceNonce.nonce).where(DeviceNonce.device_id == device_id)))


def test_sixteen_simultaneous_copies_of_one_request_are_accepted_exactly_once(
    committed_database, committed_credential, clients
):
    headers = committed_credential.headers()
    results = _race(clients, [headers] * THREADS)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [401] * (THREADS - 1), results
    [accepted] = [body for status, body in results if status == 200]
    assert accepted["device_id"] == committed_credential.device_id
    refused_codes = {body["error"]["code"] for status, body in results if status == 401}
    assert refused_codes == {"nonce_replayed"}
    assert _nonces_kept(committed_database, committed_credential.device_id) == [headers["X-Nonce"]]


def test_sixteen_simultaneous_requests_with_fresh_nonces_are_all_accepted(
    committed_database, committed_credential, clients
):
    headers = [committed_credential.headers(nonce=fresh_nonce()) for _ in range(THREADS)]
    results = _race(clients, headers)

    assert [status for status, _ in results] == [200] * THREADS, results
    kept = _nonces_kept(committed_database, committed_credential.device_id)
    assert sorted(kept) == sorted(h["X-Nonce"] for h in headers)


def test_a_committed_nonce_is_refused_by_a_later_request_on_another_connection(
    committed_database, committed_credential, clients
):
    headers = committed_credential.headers()
    assert clients[0].get(STATUS, headers=headers).status_code == 200
    replay = clients[1].get(STATUS, headers=headers)
    assert replay.status_code == 401
    assert error_of(replay)["code"] == "nonce_replayed"
    with committed_database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(DeviceNonce)) == 1
