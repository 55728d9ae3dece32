"""Earning rules for head office (R1–R7, X7): the default program, versions, audit, permissions,
refusals, YAML files, and a new rule taking effect at the pump."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.audit.models import AuditEntry
from forecourt.members.models import Member
from forecourt.rules.models import EarningRule
from tests.devices.support import error_of
from tests.fixtures.builders import StaffLogin, make_region
from tests.pos.support import Terminal, fuel
from tests.rules.support import RULES, bonus, earned, last_local, multiplier, rule

WEDNESDAY = 3
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def marketing(staff: Callable[..., StaffLogin]) -> StaffLogin:
    return staff("marketing")


def create(client: TestClient, who: StaffLogin, document: dict[str, Any]) -> dict[str, Any]:
    response = client.post(RULES, json=document, headers=who.headers)
    assert response.status_code == 201, response.json()
    return dict(response.json())


def versions_in_db(session: Session, code: str) -> list[tuple[int, str]]:
    session.expire_all()
    rows = session.scalars(select(EarningRule).where(EarningRule.code == code).order_by(EarningRule.version))
    return [(row.version, row.status) for row in rows]


def audit_of(session: Session, code: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "earning_rule", AuditEntry.entity_id == code)
            .order_by(AuditEntry.occurred_at)
        )
    )


# --- the default program (SPEC §5) -----------------------------------------------------------


def test_the_default_program_is_listed(client: TestClient, marketing: StaffLogin) -> None:
    response = client.get(RULES, headers=marketing.headers)
    assert response.status_code == 200
    by_code = {item["code"]: item for item in response.json()}
    assert {
        "base-rate",
        "saturday-double",
        "premium-grades-double",
        "birthday-week-double",
        "welcome",
        "referral",
        "daily-check-in",
        "profile-completed",
        "diesel-200l-monthly",
    } <= set(by_code)
    assert all(item["status"] == "active" and item["version"] == 1 for item in by_code.values())
    assert Decimal(by_code["base-rate"]["action"]["points_per_yuan"]) == 1
    assert by_code["saturday-double"]["condition"] == "basket.weekday == 6"
    assert Decimal(by_code["saturday-double"]["action"]["factor"]) == 2
    assert by_code["premium-grades-double"]["grades"] == ["95", "98"]
    assert Decimal(by_code["premium-grades-double"]["action"]["factor"]) == 2
    assert by_code["birthday-week-double"]["condition"] == "member.birthday_week"
    assert (by_code["welcome"]["trigger"], by_code["welcome"]["action"]["points"]) == ("first_plate", 500)
    assert (by_code["referral"]["trigger"], by_code["referral"]["action"]["points"]) == ("referral", 1000)
    promotions = ("saturday-double", "premium-grades-double", "birthday-week-double")
    assert not any(by_code[code]["stackable"] for code in promotions)

    events = client.get(RULES, params={"trigger": "first_plate"}, headers=marketing.headers).json()
    assert [item["code"] for item in events] == ["welcome"]


# --- versions --------------------------------------------------------------------------------


def test_create_read_change_and_retire_a_rule(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    document = rule("wash-bonus", bonus(30), name="洗车送 30 积分", categories=["car_wash"])
    created = create(client, marketing, document)
    assert (created["version"], created["status"]) == (1, "active")
    assert created["created_by"].endswith(marketing.user.username)

    read = client.get(f"{RULES}/wash-bonus", headers=marketing.headers).json()
    assert read == created

    changed = client.put(
        f"{RULES}/wash-bonus",
        json={**document, "action": bonus(50)},
        headers={**marketing.headers, "If-Match": "1"},
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["version"], changed.json()["action"]["points"]) == (2, 50)
    assert versions_in_db(session, "wash-bonus") == [(1, "superseded"), (2, "active")]

    history = client.get(f"{RULES}/wash-bonus/versions", headers=marketing.headers).json()
    assert [(v["version"], v["action"]["points"]) for v in history] == [(1, 30), (2, 50)]
    assert client.get(f"{RULES}/wash-bonus", headers=marketing.headers).json()["version"] == 2

    retired = client.post(f"{RULES}/wash-bonus/retire", headers=marketing.headers)
    assert retired.status_code == 200
    assert (retired.json()["version"], retired.json()["status"]) == (3, "retired")
    assert versions_in_db(session, "wash-bonus") == [(1, "superseded"), (2, "superseded"), (3, "retired")]
    active = client.get(RULES, params={"status": "active"}, headers=marketing.headers).json()
    assert "wash-bonus" not in {item["code"] for item in active}


def test_a_stale_if_match_is_a_version_conflict(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    document = rule("member-day", multiplier("2"), condition="basket.day == 8")
    create(client, marketing, document)
    first = client.put(f"{RULES}/member-day", json=document, headers={**marketing.headers, "If-Match": "1"})
    assert first.status_code == 200
    stale = client.put(
        f"{RULES}/member-day",
        json={**document, "priority": 5},
        headers={**marketing.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 409
    error = error_of(stale)
    assert error["code"] == "rule_version_conflict"
    assert error["details"]["version"] == 2
    assert versions_in_db(session, "member-day") == [(1, "superseded"), (2, "active")]


def test_an_existing_code_unknown_code_and_changed_code_are_refused(
    client: TestClient, marketing: StaffLogin
) -> None:
    document = rule("member-day", multiplier("2"))
    create(client, marketing, document)
    again = client.post(RULES, json=document, headers=marketing.headers)
    assert (again.status_code, error_of(again)["code"]) == (409, "rule_exists")
    missing = client.put(
        f"{RULES}/no-such-rule", json=rule("no-such-rule", bonus(1)), headers=marketing.headers
    )
    assert (missing.status_code, error_of(missing)["code"]) == (404, "rule_not_found")
    renamed = client.put(f"{RULES}/member-day", json=rule("other", bonus(1)), headers=marketing.headers)
    assert (renamed.status_code, error_of(renamed)["code"]) == (400, "invalid_rule")


def test_every_change_is_audited_with_who_and_before_after(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    document = rule("wash-bonus", bonus(30), categories=["car_wash"])
    create(client, marketing, document)
    client.put(f"{RULES}/wash-bonus", json={**document, "action": bonus(50)}, headers=marketing.headers)
    client.post(f"{RULES}/wash-bonus/retire", headers=marketing.headers)

    entries = audit_of(session, "wash-bonus")
    assert [entry.action for entry in entries] == ["rule.create", "rule.update", "rule.update"]
    assert {entry.actor_id for entry in entries} == {str(marketing.user.id)}
    assert {entry.actor_role for entry in entries} == {"marketing"}
    create_entry, update_entry, retire_entry = entries
    assert create_entry.before is None
    assert create_entry.after["action"]["points"] == 30
    assert (update_entry.before["action"]["points"], update_entry.after["action"]["points"]) == (30, 50)
    assert (retire_entry.before["status"], retire_entry.after["status"]) == ("active", "retired")


def test_marketing_manages_finance_reads_an_attendant_is_refused(
    client: TestClient, staff: Callable[..., StaffLogin]
) -> None:
    finance, attendant = staff("finance"), staff("attendant")
    document = rule("wash-bonus", bonus(30))
    assert client.get(RULES, headers=finance.headers).status_code == 200
    assert client.get(f"{RULES}/base-rate/versions", headers=finance.headers).status_code == 200
    for refused in (
        client.post(RULES, json=document, headers=finance.headers),
        client.put(f"{RULES}/base-rate", json=rule("base-rate", bonus(1)), headers=finance.headers),
        client.post(f"{RULES}/base-rate/retire", headers=finance.headers),
        client.get(f"{RULES}/export", headers=finance.headers),
        client.post(f"{RULES}/import", content="rules: []", headers={**finance.headers, **YAML}),
        client.get(RULES, headers=attendant.headers),
        client.get(f"{RULES}/base-rate", headers=attendant.headers),
        client.post(RULES, json=document, headers=attendant.headers),
    ):
        assert (refused.status_code, error_of(refused)["code"]) == (403, "permission_denied")
    assert client.get(RULES).status_code == 401
    assert client.post(RULES, json=document, headers=staff("marketing").headers).status_code == 201


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (rule("bad", bonus(1), condition="basket.weekday =="), "invalid_rule_condition"),
        (rule("bad", bonus(1), condition="basket.wheels == 4"), "invalid_rule_condition"),
        (rule("bad", bonus(1), condition="basket.weekday"), "invalid_rule_condition"),
        (
            rule("bad", bonus(1), applies_to="basket", condition="line.grade == '95'"),
            "invalid_rule_condition",
        ),
        (rule("bad", {"type": "rate", "points_per_yuan": "2"}, applies_to="basket"), "invalid_rule"),
        (rule("bad", multiplier("2"), applies_to="basket"), "invalid_rule"),
        (rule("bad", {"type": "hook", "hook": "no.such.hook"}), "invalid_rule"),
        (
            rule(
                "bad",
                bonus(1),
                valid_from="2026-12-01T00:00:00+08:00",
                valid_until="2026-12-01T00:00:00+08:00",
            ),
            "invalid_rule",
        ),
        (
            rule(
                "bad",
                bonus(1),
                valid_from="2026-12-02T00:00:00+08:00",
                valid_until="2026-12-01T00:00:00+08:00",
            ),
            "invalid_rule",
        ),
        (rule("bad", multiplier("2"), trigger="first_plate"), "invalid_rule"),
        (rule("bad", bonus(1), trigger="first_plate", condition="member.birthday_week"), "invalid_rule"),
        (rule("bad", bonus(1), trigger="monthly_task"), "invalid_rule"),
        (rule("bad", multiplier("2"), grades=["95#"]), "invalid_rule"),
        (rule("bad", multiplier("2"), tiers=["platinum"]), "invalid_rule"),
    ],
)
def test_invalid_documents_are_refused_and_nothing_is_stored(
    client: TestClient, session: Session, marketing: StaffLogin, document: dict[str, Any], code: str
) -> None:
    response = client.post(RULES, json=document, headers=marketing.headers)
    assert (response.status_code, error_of(response)["code"]) == (400, code)
    assert versions_in_db(session, "bad") == []
    changed = client.put(
        f"{RULES}/saturday-double", json={**document, "code": "saturday-double"}, headers=marketing.headers
    )
    assert (changed.status_code, error_of(changed)["code"]) == (400, code)
    assert versions_in_db(session, "saturday-double") == [(1, "active")]


def test_a_malformed_document_is_a_422(client: TestClient, marketing: StaffLogin) -> None:
    for document in (
        rule("bad", {"type": "multiplier", "factor": "0"}),
        rule("bad", bonus(1), stackable="maybe"),
        rule("Bad Code", bonus(1)),
        {**rule("bad", bonus(1)), "colour": "red"},
        rule("bad", bonus(1), scope={"regions": ["昆明 北"]}),
    ):
        assert client.post(RULES, json=document, headers=marketing.headers).status_code == 422


# --- YAML files (X7) -------------------------------------------------------------------------


def export(client: TestClient, who: StaffLogin) -> str:
    response = client.get(f"{RULES}/export", headers=who.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    return response.text


def import_file(client: TestClient, who: StaffLogin, text: str, **params: Any) -> Any:
    return client.post(
        f"{RULES}/import", content=text.encode(), params=params, headers={**who.headers, **YAML}
    )


def all_versions(session: Session) -> list[tuple[str, int, str]]:
    session.expire_all()
    return [
        (r.code, r.version, r.status)
        for r in session.scalars(select(EarningRule).order_by(EarningRule.code, EarningRule.version))
    ]


def test_importing_the_exported_file_changes_nothing(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    create(
        client,
        marketing,
        rule("wash-bonus", bonus(30), categories=["car_wash"], valid_from="2026-01-01T00:00:00+08:00"),
    )
    text = export(client, marketing)
    data = yaml.safe_load(text)
    assert data["format"] == "forecourt.rules/v1"
    before = all_versions(session)

    report = import_file(client, marketing, text)
    assert report.status_code == 200, report.json()
    assert report.json() == {
        "created": [],
        "changed": [],
        "unchanged": [r["code"] for r in data["rules"]],
        "retired": [],
    }
    assert all_versions(session) == before
    assert import_file(client, marketing, text).json()["unchanged"] == [r["code"] for r in data["rules"]]


def test_an_edited_file_creates_new_versions_and_new_rules(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    data = yaml.safe_load(export(client, marketing))
    for document in data["rules"]:
        if document["code"] == "saturday-double":
            document["action"]["factor"] = "3"
    data["rules"].append(
        rule("wednesday-triple", multiplier("3"), condition="basket.weekday == 3", name="周三加油 ×3")
    )
    report = import_file(client, marketing, yaml.safe_dump(data, allow_unicode=True)).json()
    assert (report["created"], report["changed"], report["retired"]) == (
        ["wednesday-triple"],
        ["saturday-double"],
        [],
    )
    assert versions_in_db(session, "saturday-double") == [(1, "superseded"), (2, "active")]
    assert versions_in_db(session, "wednesday-triple") == [(1, "active")]
    assert (
        Decimal(client.get(f"{RULES}/saturday-double", headers=marketing.headers).json()["action"]["factor"])
        == 3
    )
    assert [e.action for e in audit_of(session, "saturday-double")] == ["rule.update"]


def test_retire_missing_retires_the_rules_absent_from_the_file(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    data = yaml.safe_load(export(client, marketing))
    data["rules"] = [d for d in data["rules"] if d["code"] != "birthday-week-double"]
    text = yaml.safe_dump(data, allow_unicode=True)
    without_flag = import_file(client, marketing, text).json()
    assert without_flag["retired"] == []
    report = import_file(client, marketing, text, retire_missing="true").json()
    assert report["retired"] == ["birthday-week-double"]
    assert report["changed"] == report["created"] == []
    assert versions_in_db(session, "birthday-week-double") == [(1, "superseded"), (2, "retired")]
    # the retired rule stays retired when the same file comes again
    assert import_file(client, marketing, text, retire_missing="true").json()["retired"] == []


@pytest.mark.parametrize(
    "text",
    [
        "rules: [unclosed",
        "just a string",
        "format: forecourt.rules/v9\nrules: []",
        "rules:\n  - code: ok-rule\n    name: ok\n    action: {type: bonus, points: 5}\n"
        "  - code: no-action\n    name: x\n",
        "rules:\n  - code: twice\n    name: a\n    action: {type: bonus, points: 5}\n"
        "  - code: twice\n    name: b\n    action: {type: bonus, points: 6}\n",
    ],
)
def test_a_malformed_file_is_refused_and_changes_nothing(
    client: TestClient, session: Session, marketing: StaffLogin, text: str
) -> None:
    before = all_versions(session)
    response = import_file(client, marketing, text, retire_missing="true")
    assert (response.status_code, error_of(response)["code"]) == (400, "invalid_rule_file")
    assert all_versions(session) == before


def test_a_file_with_one_bad_rule_changes_nothing_at_all(
    client: TestClient, session: Session, marketing: StaffLogin
) -> None:
    data = yaml.safe_load(export(client, marketing))
    data["rules"][0]["priority"] = 7
    data["rules"].append(rule("broken", bonus(5), condition="basket.nope == 1"))
    before = all_versions(session)
    response = import_file(client, marketing, yaml.safe_dump(data, allow_unicode=True))
    assert (response.status_code, error_of(response)["code"]) == (400, "invalid_rule_condition")
    assert all_versions(session) == before
    assert audit_of(session, data["rules"][0]["code"]) == []


# --- a new rule at the pump ------------------------------------------------------------------


def test_a_new_rule_takes_effect_on_the_next_quote(
    client: TestClient, marketing: StaffLogin, terminal: Terminal, member: Callable[..., Member]
) -> None:
    driver = member()
    basket = terminal.basket(fuel("92", "40.00"), member=driver, occurred_at=last_local(WEDNESDAY))
    assert earned(terminal.quote(basket).json()) == {"base-rate": 300}

    create(
        client,
        marketing,
        rule("wednesday-triple", multiplier("3"), name="周三加油 ×3", condition="basket.weekday == 3"),
    )
    body = terminal.quote(basket).json()
    assert earned(body) == {"base-rate": 300, "wednesday-triple": 600}
    assert {item["rule"]: item["name"] for item in body["points_earned"]["breakdown"]}[
        "wednesday-triple"
    ] == "周三加油 ×3"

    client.post(f"{RULES}/wednesday-triple/retire", headers=marketing.headers)
    assert earned(terminal.quote(basket).json()) == {"base-rate": 300}


def test_a_draft_rule_does_not_earn(
    client: TestClient, marketing: StaffLogin, terminal: Terminal, member: Callable[..., Member]
) -> None:
    create(client, marketing, rule("draft-triple", multiplier("3"), status="draft"))
    basket = terminal.basket(fuel("92", "40.00"), member=member(), occurred_at=last_local(WEDNESDAY))
    assert earned(terminal.quote(basket).json()) == {"base-rate": 300}


def test_a_regional_rate_overrides_the_brand_rate_at_that_regions_stations_only(
    client: TestClient,
    session: Session,
    marketing: StaffLogin,
    terminal_at: Callable[..., Terminal],
    member: Callable[..., Member],
) -> None:
    north, south = make_region(session, "KM-N"), make_region(session, "KM-S")
    in_north, in_south, no_region = terminal_at(north), terminal_at(south), terminal_at()
    written = create(
        client,
        marketing,
        rule(
            "north-rate", {"type": "rate", "points_per_yuan": "2"}, scope={"regions": ["km-n"]}, priority=-5
        ),
    )
    assert written["scope"] == {"stations": [], "regions": ["KM-N"]}
    driver = member()
    moment = last_local(WEDNESDAY)
    quoted = {
        name: earned(t.quote(t.basket(fuel("92", "40.00"), member=driver, occurred_at=moment)).json())
        for name, t in (("north", in_north), ("south", in_south), ("none", no_region))
    }
    assert quoted == {"north": {"north-rate": 600}, "south": {"base-rate": 300}, "none": {"base-rate": 300}}

    create(
        client,
        marketing,
        rule(
            "one-station-rate",
            {"type": "rate", "points_per_yuan": "0.5"},
            scope={"stations": [in_north.station.lower()]},
        ),
    )
    for t, expected in ((in_north, {"one-station-rate": 150}), (in_south, {"base-rate": 300})):
        assert (
            earned(t.quote(t.basket(fuel("92", "40.00"), member=driver, occurred_at=moment)).json())
            == expected
        )
