"""Criteria as code: YAML files validated with line numbers, applied through the services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from bot.app import criteria
from bot.app.context import Actor, Defaults
from bot.app.criteria import CriteriaInvalid
from bot.app.demo import seed_demo
from bot.app.services import agree, archive, find_initiative, list_initiatives
from bot.cli import main as cli
from bot.storage.db import session_factory, transaction
from bot.storage.models import AuditEvent, DigestSchedule, Initiative

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
# Files are applied with the CLI, which acts as the operator.
EVE, ANA, BEN = Actor("T1", "eve", operator=True), Actor("T1", "ana"), Actor("T1", "ben")

# Written the way `outcome export --format yaml` writes it, so it must come back unchanged.
FILE = """\
version: 1
initiatives:
- key: fleet
  name: Fleet update
  why: Fewer site visits for firmware updates.
  who: Fleet operators; on-site technicians
  how: Operators schedule updates remotely.
  what: Staged rollout; automatic rollback
  channel: fleet-reviews
  owners:
    product: ana
    engineering: ben
  schedule:
    sprint_days: 14
    sprint_anchor: '2026-11-16'
    timezone: Europe/Berlin
    fiscal_year_start_month: 4
    digests:
      retro: thu@15:00
      lead: 24h
      quarterly: 3d@09:00
  metrics:
  - key: deploy
    name: Deploy time
    question: How long does a fleet-wide rollout take?
    unit: min
    direction: down
    baseline: 40.0
    baseline_at: '2026-11-01'
    target: 12.0
    target_date: '2027-03-31'
    guard_rail: 60.0
    noise: 0.5
    stale_after: 7d
    source:
      kind: manual
      pipeline: deploy.yml
      branch: main
  - key: errors
    name: Failed updates
    question: Do updates fail less often?
    unit: '%'
    direction: down
    baseline: 3.0
    baseline_at: '2026-11-01T08:30:00+00:00'
    target: 1.0
    target_date: null
    guard_rail: null
    noise: 0.0
    stale_after: 36h
    source:
      kind: manual
"""


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


def apply(sessions, text: str, *, dry_run: bool = False, actor: Actor = EVE,
          filename: str = "criteria.yaml") -> criteria.ApplyResult:
    return criteria.apply(sessions, actor, criteria.load(text, filename), now=NOW,
                          dry_run=dry_run)


def audit_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def problems_of(text: str) -> list[str]:
    with pytest.raises(CriteriaInvalid) as caught:
        criteria.load(text)
    return [p.format("criteria.yaml") for p in caught.value.problems]


def test_a_file_creates_initiatives_metrics_and_digest_schedules(sessions):
    result = apply(sessions, FILE)

    assert [plan.created for plan in result.plans] == [True]
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        assert (fleet.status, fleet.revision, fleet.timezone) == ("draft", 1, "Europe/Berlin")
        assert (fleet.product_owner, fleet.engineering_owner) == ("ana", "ben")
        deploy, errors = fleet.metrics
        assert (deploy.target_value, deploy.guard_rail, deploy.direction) == (12, 60, "down")
        assert deploy.source_config == {"pipeline": "deploy.yml", "branch": "main"}
        assert deploy.baseline_at == datetime(2026, 11, 1, tzinfo=UTC)
        assert errors.stale_after_seconds == 36 * 3600
        schedules = session.scalars(select(DigestSchedule).order_by(DigestSchedule.kind)).all()
        assert [(s.kind, s.channel, s.scope) for s in schedules] == [
            ("quarter", "fleet-reviews", "initiative:fleet"),
            ("sprint", "fleet-reviews", "initiative:fleet"),
        ]
        assert (schedules[1].retro_weekday, schedules[1].local_time,
                schedules[1].lead_minutes) == (3, "15:00", 24 * 60)


def test_yaml_round_trips_through_the_database_unchanged(sessions):
    apply(sessions, FILE)

    with transaction(sessions) as session:
        document = criteria.document_of(session, list_initiatives(session, "T1"))
    assert document == criteria.parse_yaml(FILE, "criteria.yaml").data

    exported = criteria.dump(document, ["exported for the test"])
    assert exported.startswith("# exported for the test\n")
    again = apply(sessions, exported, filename="exported.yaml")
    assert not again.changed
    assert "already matches" in again.text()


def test_applying_the_same_file_twice_changes_and_audits_nothing(sessions):
    apply(sessions, FILE)
    events = audit_count(sessions)

    result = apply(sessions, FILE)

    assert not result.changed
    assert audit_count(sessions) == events
    assert result.text().splitlines()[0] == "= initiative fleet: unchanged"


def test_changing_agreed_criteria_reopens_them_and_is_audited(sessions):
    apply(sessions, FILE)
    with transaction(sessions) as session:
        agree(session, ANA, "fleet", now=NOW)
        agree(session, BEN, "fleet", now=NOW)

    result = apply(sessions, FILE.replace("target: 12.0", "target: 10.0"),
                   actor=Actor("T1", "ci", operator=True))

    assert result.plans[0].reopened_revision == 2
    assert "~ target: 12 → 10" in result.text()
    assert "reopens it as draft revision 2" in result.text()
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        assert (fleet.status, fleet.revision, fleet.agreed_at) == ("draft", 2, None)
        events = session.scalars(select(AuditEvent).where(AuditEvent.actor == "ci")
                                 .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["metric changed", "reopened",
                                              "applied criteria"]
        assert (events[0].before["target_value"], events[0].after["target_value"]) == (12, 10)
        assert events[2].after == {"file": "criteria.yaml", "changes": 1}


def test_a_dry_run_shows_the_same_plan_and_writes_nothing(sessions):
    apply(sessions, FILE)
    with transaction(sessions) as session:
        agree(session, ANA, "fleet", now=NOW)
        agree(session, BEN, "fleet", now=NOW)
    events = audit_count(sessions)
    changed = (FILE.replace("target: 12.0", "target: 10.0")
               .replace("why: Fewer site visits", "why: Far fewer site visits")
               .replace("retro: thu@15:00", "retro: fri@10:00"))

    result = apply(sessions, changed, dry_run=True)

    text = result.text()
    assert "~ initiative fleet" in text
    assert '~ why: "Fewer site visits for firmware updates." → "Far fewer' in text
    assert "~ target: 12 → 10" in text
    assert "~ digests.retro: thu@15:00 → fri@10:00" in text
    assert "reopens it as draft revision 2" in text
    assert text.endswith("nothing was written.")
    assert audit_count(sessions) == events
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        assert (fleet.status, fleet.revision) == ("agreed", 1)
        assert fleet.metrics[0].target_value == 12


def test_a_new_file_shows_every_field_it_creates(sessions):
    text = apply(sessions, FILE, dry_run=True).text()

    assert '+ initiative fleet: "Fleet update" (new, draft)' in text
    assert "    + metric deploy" in text
    assert "        + guard_rail: 60" in text
    assert '        + source: {"branch": "main", "pipeline": "deploy.yml"}' in text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Initiative)) == 0


def test_changing_only_the_cadence_keeps_the_agreement(sessions):
    apply(sessions, FILE)
    with transaction(sessions) as session:
        agree(session, ANA, "fleet", now=NOW)
        agree(session, BEN, "fleet", now=NOW)

    result = apply(sessions, FILE.replace("sprint_days: 14", "sprint_days: 7"))

    assert result.plans[0].reopened_revision is None
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        assert (fleet.status, fleet.sprint_days) == ("agreed", 7)
        sprint = session.scalar(select(DigestSchedule).where(DigestSchedule.kind == "sprint"))
        assert sprint.sprint_days == 7


def test_a_digest_turned_off_in_the_file_is_disabled_and_the_other_kept(sessions):
    apply(sessions, FILE)

    result = apply(sessions, FILE.replace("quarterly: 3d@09:00", "quarterly: off"))

    assert "~ digests.quarterly: 3d@09:00 → off" in result.text()
    with transaction(sessions) as session:
        rows = {row.kind: row for row in session.scalars(select(DigestSchedule))}
        assert not rows["quarter"].enabled
        assert rows["sprint"].enabled and rows["sprint"].local_time == "15:00"


def test_what_the_file_leaves_out_is_left_as_it_is(sessions):
    apply(sessions, FILE)
    partial = """\
initiatives:
- key: fleet
  name: Fleet update
  metrics:
  - key: deploy
    name: Deploy time
    target: 12
"""
    result = apply(sessions, partial)

    assert not result.changed
    assert "Left as they are (not in the file): metric(s) errors of fleet." in result.text()
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        assert fleet.why == "Fewer site visits for firmware updates."
        assert [m.key for m in fleet.metrics] == ["deploy", "errors"]


def test_new_initiatives_get_the_default_cadence(sessions):
    result = criteria.apply(
        sessions, EVE,
        criteria.load("initiatives:\n- key: solo\n  name: Solo\n"),
        now=NOW, defaults=Defaults("America/New_York", 7, 2))

    assert result.plans[0].created
    with transaction(sessions) as session:
        solo = find_initiative(session, "T1", "solo")
        assert (solo.timezone, solo.sprint_days, solo.fiscal_year_start_month) == (
            "America/New_York", 7, 2)
        assert solo.sprint_anchor == date(2026, 11, 23)  # the Monday of NOW's week


def test_errors_point_at_the_line_and_nothing_is_written(sessions):
    broken = FILE.replace("target: 12.0", "target: twelve")

    with pytest.raises(CriteriaInvalid) as caught:
        apply(sessions, broken)

    assert str(caught.value).splitlines() == [
        "criteria.yaml:30: initiatives[0].metrics[0].target: must be a number "
        "(got 'twelve')",
        "1 problem; nothing was applied.",
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Initiative)) == 0


def test_every_problem_is_reported_at_once_in_line_order():
    broken = (FILE.replace("direction: down\n    baseline: 40.0",
                           "direction: sideways\n    baseline: 40.0")
              .replace("    unit: '%'\n", "    unit: '%'\n    untis: x\n")
              .replace("fiscal_year_start_month: 4", "fiscal_year_start_month: 13"))

    assert problems_of(broken) == [
        "criteria.yaml:17: initiatives[0].schedule.fiscal_year_start_month: must be the "
        "month the fiscal year starts in, 1 to 12 (got 13)",
        "criteria.yaml:27: initiatives[0].metrics[0].direction: must be up (higher is "
        "better) or down (lower is better) (got 'sideways')",
        "criteria.yaml:43: initiatives[0].metrics[1].untis: unknown field; did you mean "
        "`unit`?",
    ]


def test_rules_beyond_the_schema_also_name_the_line():
    broken = (FILE.replace("timezone: Europe/Berlin", "timezone: Europe/Berln")
              .replace("guard_rail: 60.0", "guard_rail: 10.0")
              .replace("- key: errors", "- key: deploy")
              .replace("retro: thu@15:00", "retro: thx@15:00"))

    assert problems_of(broken) == [
        "criteria.yaml:16: initiatives[0].schedule.timezone: 'Europe/Berln' is not an "
        "IANA time zone; use e.g. Europe/Berlin",
        "criteria.yaml:19: initiatives[0].schedule.digests.retro: retro must be a weekday "
        "and time, e.g. retro=thu@15:00 (got 'thx@15:00').",
        "criteria.yaml:32: initiatives[0].metrics[0].guard_rail: 10 is below the target 12: "
        "with direction down the guard rail is an upper limit, at or above the target",
        "criteria.yaml:39: initiatives[0].metrics[1].key: metric 'deploy' is already "
        "defined at line 23",
    ]


def test_a_url_or_credential_in_the_file_is_refused_without_repeating_it():
    leaky = (FILE.replace("branch: main", "token: ghp_abc123")
             .replace("pipeline: deploy.yml", "url: https://ci:hunter2@ci.example/api"))

    problems = problems_of(leaky)

    assert [p.split(": ", 2)[:2] for p in problems] == [
        ["criteria.yaml:37", "initiatives[0].metrics[0].source.url"],
        ["criteria.yaml:38", "initiatives[0].metrics[0].source.token"],
    ]
    assert all("connection: <name>" in p for p in problems)
    assert not any("hunter2" in p or "ghp_abc123" in p for p in problems)


def test_an_unknown_source_kind_suggests_a_known_one():
    problems = problems_of(FILE.replace("kind: manual\n      pipeline",
                                        "kind: manul\n      pipeline"))

    assert problems == ["criteria.yaml:36: initiatives[0].metrics[0].source.kind: unknown "
                        "source kind 'manul'; did you mean manual?"]


def test_yaml_syntax_errors_and_empty_files_name_the_line():
    assert problems_of("initiatives:\n- key: a\n  name: [unclosed\n") == [
        "criteria.yaml:4: this is not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]
    assert problems_of("") == [
        "criteria.yaml:1: the file is empty; it needs an `initiatives:` list"]
    assert problems_of("initiatives:\n- key: a\n  name: A\n  name: B\n") == [
        "criteria.yaml:4: initiatives[0].name: is given twice; keep one"]


def test_an_archived_initiative_in_the_file_stops_the_whole_apply(sessions):
    apply(sessions, FILE)
    with transaction(sessions) as session:
        archive(session, EVE, "fleet", now=NOW)
    text = ("initiatives:\n- key: aaa\n  name: First\n"
            "- key: fleet\n  name: Fleet renamed\n")

    with pytest.raises(CriteriaInvalid) as caught:
        apply(sessions, text)

    assert str(caught.value).splitlines()[0] == (
        "criteria.yaml:4: initiatives[1]: Initiative 'fleet' is archived; archived criteria "
        "cannot change. Its owners or an admin can bring it back with `unarchive fleet`.")
    with sessions() as session:
        assert session.scalar(select(Initiative).where(Initiative.key == "aaa")) is None


def test_the_schema_is_valid_and_accepts_what_export_writes(sessions):
    Draft202012Validator.check_schema(criteria.schema())
    seed_demo(sessions, "T1", NOW)

    with transaction(sessions) as session:
        document = criteria.document_of(session, list_initiatives(session, "T1"))

    assert list(Draft202012Validator(criteria.schema()).iter_errors(document)) == []
    loaded = criteria.load(criteria.dump(document))
    assert [spec.key for spec in loaded.initiatives] == ["fleet-update", "self-serve"]


@pytest.fixture
def cli_env(monkeypatch, sqlite_url):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTCOME_USER", "ci")
    monkeypatch.setenv("OUTCOME_WORKSPACE", "T1")
    return sqlite_url


def test_the_cli_applies_a_file_after_a_dry_run(cli_env, tmp_path, capsys):
    path = tmp_path / "criteria.yaml"
    path.write_text(FILE, encoding="utf-8")

    assert cli.main(["apply", str(path), "--dry-run"]) == 0
    assert "nothing was written" in capsys.readouterr().out
    assert cli.main(["apply", str(path)]) == 0
    assert "Applied 6 change(s) to 1 initiative(s)" in capsys.readouterr().out
    assert cli.main(["show", "fleet"]) == 0
    assert "Fleet update (fleet) [draft, revision 1" in capsys.readouterr().out


def test_the_cli_reports_an_invalid_file_with_exit_code_2(cli_env, tmp_path, capsys):
    path = tmp_path / "criteria.yaml"
    path.write_text(FILE.replace("target: 12.0", "target: twelve"), encoding="utf-8")

    assert cli.main(["apply", str(path)]) == 2

    error = capsys.readouterr().err
    assert f"{path}:30: initiatives[0].metrics[0].target: must be a number" in error
    assert cli.main(["apply", str(tmp_path / "missing.yaml")]) == 2
    assert "Cannot read" in capsys.readouterr().err


def test_the_cli_prints_the_schema_for_editors(capsys):
    assert cli.main(["apply", "--print-schema"]) == 0
    assert '"title": "Outcomes criteria file"' in capsys.readouterr().out


def test_the_documented_example_file_matches_the_schema():
    docs = Path(__file__).parent.parent / "docs" / "criteria-as-code.md"
    example = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]

    parsed = criteria.parse_yaml(example, "criteria-as-code.md")

    assert criteria.schema_problems(parsed) == []
    assert parsed.data["initiatives"][0]["metrics"][0]["guard_rail"] == 60


# Appended to FILE's initiative; its first line is line 53 of the file.
DELIVERABLES = """\
  deliverables:
  - name: Automatic rollback
    moves: [deploy, errors]
    shipped: 2026-11-20T14:30:00Z
  - name: Regional mirrors
    moves: []
    shipped: '2026-11-24'
"""
WITH_DELIVERABLES = FILE + DELIVERABLES


def deliverables_in_store(sessions) -> list[tuple[str, list[str], datetime | None, str]]:
    with transaction(sessions) as session:
        fleet = find_initiative(session, "T1", "fleet")
        return [(d.name, list(d.moves), d.shipped_at, d.shipped_by)
                for d in fleet.deliverables]


def test_a_file_creates_deliverables_with_what_they_move_and_when_they_shipped(sessions):
    text = apply(sessions, WITH_DELIVERABLES).text()

    assert ("    + deliverable 'Automatic rollback': moves [deploy, errors]; "
            "shipped 2026-11-20T14:30:00Z") in text
    assert "    + deliverable 'Regional mirrors': moves []; shipped 2026-11-23T23:00:00Z" in text
    # A bare date is midnight in the initiative's zone (Europe/Berlin, UTC+1 in November).
    assert deliverables_in_store(sessions) == [
        ("Automatic rollback", ["deploy", "errors"], datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
         "eve"),
        ("Regional mirrors", [], datetime(2026, 11, 23, 23, tzinfo=UTC), "eve"),
    ]


def test_applying_deliverables_twice_changes_and_audits_nothing(sessions):
    apply(sessions, WITH_DELIVERABLES)
    events = audit_count(sessions)

    result = apply(sessions, WITH_DELIVERABLES, actor=Actor("T1", "ci", operator=True))

    assert not result.changed
    assert audit_count(sessions) == events
    assert [row[3] for row in deliverables_in_store(sessions)] == ["eve", "eve"]


def test_a_dry_run_shows_new_and_changed_deliverables_and_writes_nothing(sessions):
    apply(sessions, FILE + "  deliverables:\n  - name: automatic  ROLLBACK\n"
                           "    moves: [deploy]\n")
    before, events = deliverables_in_store(sessions), audit_count(sessions)

    result = apply(sessions, WITH_DELIVERABLES, dry_run=True)

    text = result.text()
    assert ("    ~ deliverable 'automatic ROLLBACK': moves [deploy] → [deploy, errors]; "
            "shipped (none) → 2026-11-20T14:30:00Z") in text
    assert "    + deliverable 'Regional mirrors'" in text
    assert "Dry run: 3 change(s) to 1 initiative(s)" in text
    assert deliverables_in_store(sessions) == before
    assert audit_count(sessions) == events


def test_deliverables_left_out_keep_their_ship_and_are_reported(sessions):
    apply(sessions, WITH_DELIVERABLES)
    partial = ("initiatives:\n- key: fleet\n  name: Fleet update\n  deliverables:\n"
               "  - name: Automatic rollback\n    moves: [deploy, errors]\n")

    result = apply(sessions, partial)

    assert not result.changed
    assert ("Left as they are (not in the file): deliverable(s) 'Regional mirrors' of "
            "fleet.") in result.text()
    assert deliverables_in_store(sessions)[0][2] == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def test_a_deliverable_may_move_a_metric_only_the_store_has(sessions):
    apply(sessions, FILE)

    apply(sessions, "initiatives:\n- key: fleet\n  name: Fleet update\n  deliverables:\n"
                    "  - name: Retry budget\n    moves: [errors]\n")

    assert deliverables_in_store(sessions) == [("Retry budget", ["errors"], None, "")]


def assert_refused_and_nothing_written(sessions, text: str) -> list[str]:
    with pytest.raises(CriteriaInvalid) as caught:
        apply(sessions, text)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Initiative)) == 0
    return str(caught.value).splitlines()


def test_a_move_of_a_metric_the_initiative_lacks_names_its_line_and_writes_nothing(sessions):
    broken = WITH_DELIVERABLES.replace("moves: [deploy, errors]", "moves: [depoy, errors]")

    assert assert_refused_and_nothing_written(sessions, broken) == [
        "criteria.yaml:55: initiatives[0].deliverables[0].moves[0]: 'depoy' is not a metric "
        "of this initiative; did you mean deploy?",
        "1 problem; nothing was applied.",
    ]


def test_a_ship_in_the_future_names_its_line_and_writes_nothing(sessions):
    broken = WITH_DELIVERABLES.replace("shipped: '2026-11-24'", "shipped: '2026-11-30'")

    assert assert_refused_and_nothing_written(sessions, broken)[0] == (
        "criteria.yaml:59: initiatives[0].deliverables[1].shipped: 2026-11-29T23:00:00Z is "
        "in the future (now 2026-11-29T12:00:00Z); write `shipped:` once it has shipped")


def test_a_deliverable_named_twice_names_both_lines_and_writes_nothing(sessions):
    broken = WITH_DELIVERABLES.replace("- name: Regional mirrors", "- name: automatic rollback")

    assert assert_refused_and_nothing_written(sessions, broken)[0] == (
        "criteria.yaml:57: initiatives[0].deliverables[1].name: deliverable 'automatic "
        "rollback' is already defined at line 54")


def test_the_schema_refuses_a_ship_without_an_offset_and_unknown_fields():
    broken = (WITH_DELIVERABLES.replace("2026-11-20T14:30:00Z", "2026-11-20T14:30")
              .replace("    moves: []\n", "    move: []\n"))

    assert problems_of(broken) == [
        "criteria.yaml:56: initiatives[0].deliverables[0].shipped: must be a date like "
        "2026-11-20 (midnight in the initiative's time zone) or a date-time with its offset "
        "like 2026-11-20T14:30:00Z (got '2026-11-20T14:30')",
        "criteria.yaml:58: initiatives[0].deliverables[1].move: unknown field; did you mean "
        "`moves`?",
    ]


def test_exported_deliverables_apply_back_unchanged(sessions):
    apply(sessions, WITH_DELIVERABLES)

    with transaction(sessions) as session:
        document = criteria.document_of(session, list_initiatives(session, "T1"))
    assert document["initiatives"][0]["deliverables"] == [
        {"name": "Automatic rollback", "moves": ["deploy", "errors"],
         "shipped": "2026-11-20T14:30:00Z"},
        {"name": "Regional mirrors", "moves": [], "shipped": "2026-11-23T23:00:00Z"},
    ]
    assert not apply(sessions, criteria.dump(document)).changed


def test_the_exported_demo_applies_back_unchanged(sessions):
    seed_demo(sessions, "T1", NOW)
    with transaction(sessions) as session:
        document = criteria.document_of(session, list_initiatives(session, "T1"))
    events = audit_count(sessions)

    result = apply(sessions, criteria.dump(document))

    assert all(plan["deliverables"] for plan in document["initiatives"])
    assert not result.changed, result.text()
    assert audit_count(sessions) == events
