"""Exports: arc42 sections 1 and 10 as Markdown, samples as CSV, criteria as YAML."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest

from bot.app import criteria
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.demo import seed_demo
from bot.app.export import arc42_markdown, export_initiatives, samples_csv
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative, find_initiative, list_initiatives, record_value
from bot.cli import main as cli
from bot.storage.db import make_engine, session_factory, transaction, upgrade

NOW = datetime(2026, 11, 29, 9, tzinfo=UTC)
EVE = Actor("T1", "eve", admin=True)  # sets initiatives up for their owners
SECRET_CONFIG = {
    "url": "https://prometheus.example/api/v1/query",
    "query": "sum(rate(deploy_seconds_sum[1h]))",
    "token": "${PROMETHEUS_TOKEN}",
    "password": "hunter2",
    "dsn": "postgresql://reader:s3cret-pw@db.example/metrics",
    "headers": {"Authorization": "Bearer ghp_literal", "X-Relay": "Bearer relay-literal-9"},
    "search": "https://jira.example/rest/api/2/search?jql=done&api_key=qk-literal&max=0",
    "replica": "postgresql://reader:${REPLICA_PASSWORD}@replica.example/metrics",
}


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture(scope="module")
def demo_sessions(tmp_path_factory):
    """The demo workspace, seeded once for the read-only rendering tests (on SQLite: the
    Markdown does not depend on the backend; the export command runs on both)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'outcome.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    seed_demo(sessions, "T1", NOW)
    yield sessions
    engine.dispose()


@pytest.fixture
def demo(demo_sessions):
    with transaction(demo_sessions) as session:
        yield list_initiatives(session, "T1")


@pytest.fixture
def leaky(sessions):
    """An initiative whose metric source holds literal credentials: a config from before
    connections, which no transport accepts any more, written straight into the row."""
    with transaction(sessions) as session:
        define_initiative(session, EVE, "fleet", {
            "name": "Fleet | update", "why": "Fewer visits.\nFewer truck rolls.",
            "who": "Operators\nTechnicians", "product_owner": "ana",
            "sprint_anchor": date(2026, 11, 16),
        }, now=NOW)
        metric, _ = define_metric(session, EVE, "fleet", "deploy", {
            "name": "Deploy time", "unit": "min", "direction": "down", "baseline_value": 40.0,
            "target_value": 12.0, "target_date": date(2027, 3, 31), "guard_rail": 60.0,
            "source_kind": "manual",
        }, now=NOW)
        metric.source_config = SECRET_CONFIG
    return sessions


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("#")]


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading."""
    start = markdown.index(f"{heading}\n") + len(heading) + 1
    following = re.search(r"^#", markdown[start:], re.MULTILINE)
    return markdown[start:start + following.start()] if following else markdown[start:]


def table(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in ``text``, header first, separator dropped."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return [row for row in cells if not all(set(cell) <= {"-"} for cell in row)]


def test_arc42_for_the_demo_has_sections_1_and_10_for_each_initiative(demo):
    initiatives = demo

    markdown = arc42_markdown(initiatives, NOW)

    per_initiative = ["## 1. Introduction and Goals", "### 1.1 Requirements Overview",
                      "### 1.2 Quality Goals", "### 1.3 Stakeholders",
                      "## 10. Quality Requirements", "### 10.1 Quality Tree",
                      "### 10.2 Quality Scenarios"]
    assert headings(markdown) == [
        "# Device fleet on the latest firmware", *per_initiative,
        "# Self-serve onboarding adoption", *per_initiative,
    ]
    assert "`fleet-update`, agreed at revision 1 on 2026-08-01 by ana (product) and ben " \
           "(engineering)" in markdown
    assert "draft at revision 1, not agreed yet (waiting for the engineering owner)" in markdown


def test_arc42_quality_goals_and_scenarios_come_from_the_metrics_and_targets(demo):
    initiatives = demo
    fleet = arc42_markdown(initiatives[:1], NOW)

    goals = table(section(fleet, "### 1.2 Quality Goals"))
    assert goals[0] == ["Priority", "Quality goal", "Question", "Measure", "Guard rail"]
    assert [row[0] for row in goals[1:]] == ["1", "2", "3", "4", "5"]
    assert goals[2][1:4] == [
        "Deployment time", "How long does a fleet-wide rollout take?",
        "≤ 12 min by 2026-12-29, from a baseline of 40 min (lower is better)"]

    scenarios = table(section(fleet, "### 10.2 Quality Scenarios"))
    assert scenarios[0] == ["ID", "Source", "Stimulus", "Environment", "Response",
                            "Response measure"]
    assert len(scenarios) == 1 + len(initiatives[0].metrics)
    deploy = scenarios[2]
    assert deploy[0] == "QS-2"
    assert deploy[1] == "Fleet operators; on-site technicians; customer support"
    assert deploy[2].startswith("Operators schedule updates remotely")
    assert "pulled from the demo source" in deploy[3] and "7d counts as missing" in deploy[3]
    assert deploy[4].startswith("Deployment time (deploy-time) goes down")
    assert deploy[5].startswith("≤ 12 min by 2026-12-29")
    assert all(len(row) == 6 and all(row) for row in scenarios)


def test_arc42_stakeholders_and_quality_tree_follow_the_impact_map(demo):
    initiatives = demo
    fleet = arc42_markdown(initiatives[:1], NOW)

    stakeholders = table(section(fleet, "### 1.3 Stakeholders"))
    assert [row[:2] for row in stakeholders[1:]] == [
        ["Product owner", "@ana"], ["Engineering lead", "@ben"],
        ["Actor", "Fleet operators"], ["Actor", "on-site technicians"],
        ["Actor", "customer support"], ["Review audience", "#fleet-reviews"],
    ]
    tree = section(fleet, "### 10.1 Quality Tree").strip().splitlines()
    assert tree[0].startswith("- **Device fleet on the latest firmware**: Cut the cost")
    assert tree[1:3] == [
        "  - Do devices update without a site visit?",
        "    - Devices on the latest firmware (`on-latest`): ≥ 90 % by 2027-01-28, from a "
        "baseline of 38 % (higher is better)",
    ]


def test_arc42_cells_survive_pipes_and_line_breaks_and_show_guard_rails(leaky):
    with transaction(leaky) as session:
        markdown = arc42_markdown([find_initiative(session, "T1", "fleet")], NOW)

    impact = table(section(markdown, "### 1.1 Requirements Overview"))
    assert impact[1] == ["Why (business goal)", "Fewer visits.<br>Fewer truck rolls."]
    goals = table(section(markdown, "### 1.2 Quality Goals"))
    assert goals[1][4] == "never above 60 min"
    assert "# Fleet \\| update" not in markdown and "# Fleet | update" in markdown
    scenarios = table(section(markdown, "### 10.2 Quality Scenarios"))
    assert scenarios[1][1] == "Operators; Technicians"
    assert scenarios[1][5].endswith("; never above 60 min")


def test_no_export_reveals_a_credential(leaky):
    with transaction(leaky) as session:
        fleet = [find_initiative(session, "T1", "fleet")]
        record_value(session, EVE, "fleet", "deploy", 30.0, NOW)
        files = [export_initiatives(session, fleet, fmt, NOW, label="fleet")
                 for fmt in ("arc42", "csv", "yaml")]

    for exported in files:
        text = exported.content.decode()
        for literal in ("hunter2", "s3cret-pw", "ghp_literal", "relay-literal", "qk-literal"):
            assert literal not in text, (exported.filename, literal)
    yaml_text = files[2].content.decode()
    source = criteria.parse_yaml(yaml_text, "x").data["initiatives"][0]["metrics"][0]["source"]
    assert source == {
        "kind": "manual",
        "url": "https://prometheus.example/api/v1/query",
        "query": "sum(rate(deploy_seconds_sum[1h]))",
        "token": "${PROMETHEUS_TOKEN}",
        "password": "<redacted>",
        "dsn": "postgresql://reader:<redacted>@db.example/metrics",
        "headers": {"Authorization": "<redacted>", "X-Relay": "Bearer <redacted>"},
        "search": "https://jira.example/rest/api/2/search?jql=done&api_key=<redacted>&max=0",
        "replica": "postgresql://reader:${REPLICA_PASSWORD}@replica.example/metrics",
    }


def test_a_redacted_export_cannot_be_applied_until_its_source_names_a_connection(leaky):
    with transaction(leaky) as session:
        exported = criteria.dump(criteria.document_of(
            session, [find_initiative(session, "T1", "fleet")]))

    with pytest.raises(criteria.CriteriaInvalid) as caught:
        criteria.load(exported)

    source = "initiatives[0].metrics[0].source"
    assert sorted(p.path for p in caught.value.problems) == sorted(
        f"{source}.{field}" for field in ("url", "token", "password", "dsn", "headers",
                                          "replica", "search"))
    assert all("connection: <name>" in p.message for p in caught.value.problems)


def test_the_csv_export_lists_every_sample_with_its_unit(leaky):
    with transaction(leaky) as session:
        record_value(session, EVE, "fleet", "deploy", 30.0, datetime(2026, 11, 20, tzinfo=UTC))
        record_value(session, EVE, "fleet", "deploy", 24.5, datetime(2026, 11, 28, tzinfo=UTC))
        record_value(session, EVE, "fleet", "deploy", 41.0, datetime(2026, 11, 28, tzinfo=UTC),
                     segment="region=APAC")
        text = samples_csv(session, [find_initiative(session, "T1", "fleet")])

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["segment"], r["observed_at"], r["value"], r["unit"]) for r in rows] == [
        ("", "2026-11-20T00:00:00+00:00", "30.0", "min"),
        ("", "2026-11-28T00:00:00+00:00", "24.5", "min"),
        ("region=APAC", "2026-11-28T00:00:00+00:00", "41.0", "min"),
    ]
    assert {(r["initiative"], r["metric"], r["origin"], r["recorded_by"]) for r in rows} == {
        ("fleet", "deploy", "manual", "eve")}


def test_csv_cells_that_would_run_as_spreadsheet_formulas_stay_text(leaky):
    with transaction(leaky) as session:
        record_value(session, Actor("T1", "=HYPERLINK(x)"), "fleet", "deploy", 30.0, NOW)
        text = samples_csv(session, [find_initiative(session, "T1", "fleet")])

    (row,) = csv.DictReader(io.StringIO(text))
    assert row["recorded_by"] == "'=HYPERLINK(x)"


def test_the_export_command_replies_with_a_file_to_upload(sessions):
    seed_demo(sessions, "T1", NOW)
    ctx = Context(EVE, sessions, now=lambda: NOW)

    reply = run("export fleet-update format=yaml", ctx)

    assert not reply.error
    assert reply.text == ("Exported fleet-update as criteria YAML: "
                          "fleet-update-criteria.yaml.")
    assert reply.attachment.filename == "fleet-update-criteria.yaml"
    loaded = criteria.load(reply.attachment.content.decode(), "fleet-update-criteria.yaml")
    assert [m.key for m in loaded.initiatives[0].metrics][:2] == ["on-latest", "deploy-time"]
    everything = run("export all", ctx)
    assert everything.attachment.filename == "outcomes-arc42.md"
    assert everything.attachment.content.decode().count("## 10. Quality Requirements") == 2


def test_export_errors_say_how_to_fix_the_command(leaky):
    ctx = Context(EVE, leaky, now=lambda: NOW)

    reply = run("export fleet format=pdf", ctx)
    assert reply.error and "format must be arc42, csv or yaml (got 'pdf')" in reply.text

    reply = run("export flet", ctx)
    assert reply.error and "Known initiatives: fleet" in reply.text


def test_the_cli_writes_an_export_to_a_file_or_to_stdout(monkeypatch, sqlite_url, tmp_path,
                                                        capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    monkeypatch.setenv("OUTCOME_USER", "eve")
    assert cli.main(["define", "fleet", "Fleet update", "po=@ana"]) == 0
    assert cli.main(["metric", "add", "fleet", "deploy", "Deploy time", "baseline=40",
                     "target=12", "by=2027-03-31", "unit=min", "direction=down"]) == 0
    capsys.readouterr()

    out = tmp_path / "docs" / "fleet.md"
    out.parent.mkdir()
    assert cli.main(["export", "fleet", "--format", "arc42", "-o", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert "### 10.2 Quality Scenarios" in out.read_text(encoding="utf-8")

    assert cli.main(["export", "fleet", "format=yaml"]) == 0
    assert "key: deploy" in capsys.readouterr().out

    assert cli.main(["export", "nope"]) == 1
    assert "No initiative 'nope'" in capsys.readouterr().err
