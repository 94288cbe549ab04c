"""Fitness functions: `outcome check` judges agreed thresholds and speaks JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from xml.dom import minidom

import pytest

from bot.app.context import Actor
from bot.app.fitness import Outcome, check, crosses_guard_rail, junit_xml, report_text
from bot.app.metric_changes import define_metric
from bot.app.services import agree, define_initiative, record_value
from bot.cli import main as cli
from bot.storage.db import make_engine, session_factory, transaction, upgrade

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
# Eve is a workspace admin, who sets initiatives up for their owners Ana and Ben.
EVE, ANA, BEN = Actor("T1", "eve", admin=True), Actor("T1", "ana"), Actor("T1", "ben")


def initiative(session, key: str, metrics: dict[str, tuple[dict, list[tuple[int, float]]]],
               *, agreed: bool = True) -> None:
    """An initiative with metrics; samples are (days before NOW, value)."""
    define_initiative(session, EVE, key, {
        "name": key.title(), "product_owner": "ana", "engineering_owner": "ben",
        "sprint_anchor": date(2026, 11, 16),
    }, now=NOW)
    for metric_key, (fields, samples) in metrics.items():
        define_metric(session, EVE, key, metric_key, {"name": metric_key.title(), **fields},
                      now=NOW)
        for days_ago, value in samples:
            record_value(session, EVE, key, metric_key, value, NOW - timedelta(days=days_ago))
    if agreed:
        agree(session, ANA, key, now=NOW)
        agree(session, BEN, key, now=NOW)


DEPLOY = {"unit": "min", "direction": "down", "baseline_value": 40.0, "target_value": 12.0,
          "target_date": date(2027, 3, 31)}
ERRORS = {"unit": "%", "direction": "down", "baseline_value": 3.0, "target_value": 1.0,
          "target_date": date(2027, 3, 31), "guard_rail": 2.0}
UPTIME = {"unit": "%", "direction": "up", "baseline_value": 99.0, "target_value": 99.9,
          "target_date": date(2027, 3, 31), "guard_rail": 99.5}


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def build_workspace(sessions):
    """healthy passes; guarded crosses a guard rail; late missed its date; stale went quiet;
    drafty is not agreed (and heads the wrong way)."""
    with transaction(sessions) as session:
        initiative(session, "healthy", {
            "deploy": (DEPLOY, [(28, 40.0), (1, 24.0)]),
            "errors": (ERRORS, [(28, 3.0), (1, 2.0)]),  # on the guard rail is still fine
            "uptime": (UPTIME, [(1, 99.6)]),
        })
        initiative(session, "guarded", {
            "errors": (ERRORS, [(28, 3.0), (10, 1.2), (1, 2.4)]),
            "uptime": (UPTIME, [(1, 99.4)]),
        })
        initiative(session, "late", {
            "deploy": ({**DEPLOY, "target_date": date(2026, 11, 1)}, [(60, 40.0), (1, 20.0)]),
        })
        initiative(session, "stale", {
            "deploy": (DEPLOY, [(28, 40.0), (9, 24.0)]),
            "tickets": ({**DEPLOY, "unit": "tickets"}, []),
        })
        initiative(session, "drafty", {"deploy": (DEPLOY, [(28, 40.0), (1, 90.0)])},
                   agreed=False)
    return sessions


@pytest.fixture
def workspace(sessions):
    return build_workspace(sessions)


def verdicts_of(sessions, *keys: str, include_drafts: bool = False):
    with transaction(sessions) as session:
        report = check(session, "T1", NOW, initiatives=list(keys) or None,
                       include_drafts=include_drafts)
    return report, {v.name: (v.outcome, v.reason) for v in report.verdicts}


def test_every_agreed_threshold_holding_passes(workspace):
    report, verdicts = verdicts_of(workspace, "healthy")

    assert verdicts == {
        "healthy.deploy": (Outcome.PASSED, "on track"),
        "healthy.errors": (Outcome.PASSED, "within guard rail"),
        "healthy.uptime": (Outcome.PASSED, "within guard rail"),
    }
    assert report.exit_code == 0


def test_crossing_a_guard_rail_fails_whatever_the_direction(workspace):
    report, verdicts = verdicts_of(workspace, "guarded")

    assert verdicts == {
        "guarded.errors": (Outcome.FAILED, "guard rail crossed"),
        "guarded.uptime": (Outcome.FAILED, "guard rail crossed"),
    }
    assert report.exit_code == 1
    errors = next(v for v in report.verdicts if v.metric == "errors")
    assert errors.message == "2.4 % crosses the guard rail: at most 2 %"
    assert errors.value == 2.4


def test_a_guard_rail_is_crossed_only_beyond_it():
    assert crosses_guard_rail(2.01, 2.0, "down") and not crosses_guard_rail(2.0, 2.0, "down")
    assert crosses_guard_rail(99.4, 99.5, "up") and not crosses_guard_rail(99.5, 99.5, "up")


def test_without_a_guard_rail_a_missed_target_date_fails(workspace):
    report, verdicts = verdicts_of(workspace, "late")

    assert verdicts == {"late.deploy": (Outcome.FAILED, "off track")}
    assert "target date 2026-11-01 passed" in report.verdicts[0].message


def test_stale_or_missing_data_fails(workspace):
    report, verdicts = verdicts_of(workspace, "stale")

    assert verdicts == {
        "stale.deploy": (Outcome.FAILED, "stale"),
        "stale.tickets": (Outcome.FAILED, "no data"),
    }
    assert "last value is 9 days old (stale after 7 days)" in report.verdicts[0].message


def test_draft_criteria_are_skipped_unless_drafts_are_enforced(workspace):
    report, verdicts = verdicts_of(workspace, "drafty")
    assert verdicts == {"drafty.deploy": (Outcome.SKIPPED, "not agreed")}
    assert report.exit_code == 0
    assert "Nothing was enforced" in report_text(report)

    report, verdicts = verdicts_of(workspace, "drafty", include_drafts=True)
    assert verdicts == {"drafty.deploy": (Outcome.FAILED, "off track")}


def test_the_report_lists_failures_first_with_a_summary(workspace):
    report, _ = verdicts_of(workspace)

    lines = report_text(report).splitlines()
    assert [line[:4] for line in lines[:-1]] == ["FAIL"] * 5 + ["PASS"] * 3 + ["SKIP"]
    assert lines[-1] == "8 checked: 3 passed, 5 failed, 1 skipped."


def test_junit_xml_parses_with_a_standard_xml_parser(workspace):
    report, _ = verdicts_of(workspace)

    xml = junit_xml(report)

    minidom.parseString(xml)
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("9", "5", "1")
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == ["drafty", "guarded", "healthy", "late", "stale"]
    guarded = suites["guarded"]
    assert (guarded.get("tests"), guarded.get("failures")) == ("2", "2")
    case = guarded.find("testcase[@name='errors']")
    assert case.get("classname") == "guarded"
    failure = case.find("failure")
    assert failure.get("type") == "guard rail crossed"
    assert failure.get("message") == "2.4 % crosses the guard rail: at most 2 %"
    assert "Latest value observed at 2026-11-28T12:00:00+00:00" in failure.text
    assert suites["drafty"].find("testcase/skipped") is not None
    assert suites["healthy"].find("testcase/failure") is None


@pytest.fixture
def cli_workspace(monkeypatch, sqlite_url):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    monkeypatch.setenv("OUTCOME_USER", "ci")
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        yield build_workspace(session_factory(engine))
    finally:
        engine.dispose()


def test_the_cli_exit_code_is_0_on_pass_1_on_violation_or_stale_data_2_when_it_cannot_run(
        cli_workspace, tmp_path, capsys):
    now = ["--now", NOW.isoformat()]

    assert cli.main(["check", "--initiative", "healthy", *now]) == 0
    assert "3 checked: 3 passed, 0 failed." in capsys.readouterr().out
    assert cli.main(["check", "-i", "guarded", *now]) == 1
    assert cli.main(["check", "-i", "stale", *now]) == 1
    assert cli.main(["check", "-i", "late", "-i", "healthy", *now]) == 1
    capsys.readouterr()
    assert cli.main(["check", "-i", "nope", *now]) == 2
    assert "No initiative 'nope'" in capsys.readouterr().err

    junit = tmp_path / "reports" / "outcome.xml"
    assert cli.main(["check", "--junit", str(junit), *now]) == 1
    assert ET.parse(junit).getroot().get("failures") == "5"


def test_the_cli_prints_the_report_as_json_with_the_same_exit_code(cli_workspace, capsys):
    now = ["--now", NOW.isoformat()]
    assert cli.main(["check", "-i", "healthy", "-i", "guarded", "--json", *now]) == 1
    document = json.loads(capsys.readouterr().out)

    assert document["schema"] == "outcomes.check/1"
    assert document["checked_at"] == NOW.isoformat()
    assert (document["passed"], document["failed"], document["skipped"]) == (
        sum(v["outcome"] == "passed" for v in document["verdicts"]),
        sum(v["outcome"] == "failed" for v in document["verdicts"]), 0)
    assert document["failed"] >= 1 and document["passed"] == 3
    failed = [v for v in document["verdicts"] if v["outcome"] == "failed"]
    assert all(v["initiative"] == "guarded" and v["message"] for v in failed)
    assert {"initiative", "kind", "metric", "name", "outcome", "reason", "message", "value",
            "observed_at"} == set(document["verdicts"][0])
