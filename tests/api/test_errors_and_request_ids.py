"""Error responses have one shape and a stable code; every response and log line has a request id."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from forecourt.kit.logging import configure_logging


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_malformed_json_is_a_422_with_its_own_code(client, staff):
    response = client.post(
        "/api/v1/stations",
        content=b'{"code": "S001", "name": ',
        headers={**staff("admin").headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert _error(response)["code"] == "malformed_json"


def test_a_missing_field_is_a_422_validation_error_naming_the_field(client, staff):
    response = client.post("/api/v1/stations", json={"code": "S001"}, headers=staff("admin").headers)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_error"
    assert ["body", "name"] in [problem["loc"] for problem in error["details"]["errors"]]


def test_an_unknown_field_is_refused(client, staff):
    response = client.post(
        "/api/v1/stations",
        json={"code": "S001", "name": "x", "colour": "red"},
        headers=staff("admin").headers,
    )
    assert response.status_code == 422


def test_an_unknown_route_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_every_response_carries_a_generated_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/api/v1/nothing").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_well_formed_incoming_request_id_is_kept_and_a_bad_one_replaced(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "pos-S001-000042"}).headers["X-Request-ID"]
        == "pos-S001-000042"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "no spaces <script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


@pytest.fixture
def exploding_client(app):
    def explode() -> None:
        raise RuntimeError("SELECT secret FROM members WHERE phone='13800138000'")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unexpected_error_is_a_500_that_reveals_nothing(exploding_client):
    response = exploding_client.get("/explode")
    assert response.status_code == 500
    assert _error(response)["code"] == "internal_error"
    assert "X-Request-ID" in response.headers
    for leak in ("SELECT", "Traceback", "13800138000", "RuntimeError"):
        assert leak not in response.text


def test_every_log_line_of_a_request_carries_its_request_id(exploding_client):
    stream = io.StringIO()
    configure_logging("INFO", "json")
    logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
    try:
        request_id = exploding_client.get("/explode", headers={"X-Request-ID": "trace-me-0001"}).headers[
            "X-Request-ID"
        ]
    finally:
        configure_logging("INFO", "console")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert lines, "the request logged nothing"
    assert {line.get("request_id") for line in lines} == {request_id}, lines
    assert any(line["event"] == "unhandled_error" and "exception" in line for line in lines)
    assert any(line["event"] == "request" and line["status"] == 500 for line in lines)
