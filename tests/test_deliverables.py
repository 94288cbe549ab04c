"""Deliverables: shipped by command, linked to the metrics they move, in reviews, charts,
JSON and `outcome check`; bad input gets a specific message and changes nothing."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.fitness import Outcome, check, report_json
from bot.app.review_builder import build_review
from bot.core.periods import THIS_SPRINT
from bot.core.points import Reading
from bot.core.variation import Verdict
from bot.grammar.commands import parse
from bot.grammar.deliverables import DeliverableCommand, Shipped
from bot.render.blocks import initiative_blocks
from bot.render.charts import initiative_figure
from bot.render.figures import png_bytes
from bot.render.json_review import review_json
from bot.render.text import review_markdown, review_terminal
from bot.storage.db import session_factory, transaction
from bot.storage.models import AuditEvent, Deliverable, Metric
from bot.storage.samples import store_readings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)  # day 14 of the sprint of Nov 16
SPRINT = date(2026, 11, 16)
ANA = Actor("T1", "ana")  # the product owner
MIA = Actor("T1", "mia")  # a member
SETUP = (
    'define fleet "Fleet update" po=@ana eng=@ben anchor=2026-11-16',
    'metric add fleet deploy "Deploy time" unit=min direction=down baseline=40 target=12 '
    "by=2027-03-31",
    'metric add fleet tickets "Tickets" baseline=100 target=50 by=2027-03-31 direction=down',
)


def say(engine: Engine, text: str, actor: Actor = ANA) -> str:
    reply = run(text, Context(actor, session_factory(engine), now=lambda: NOW))
    assert not reply.error, reply.text
    return reply.text


def refused(engine: Engine, text: str, actor: Actor = ANA) -> str:
    reply = run(text, Context(actor, session_factory(engine), now=lambda: NOW))
    assert reply.error, reply.text
    return reply.text


@pytest.fixture
def fleet(engine: Engine) -> Engine:
    """fleet with six weeks of hourly deploy times that step from 30 to 24 min on Nov 21,
    and tickets that only wobble."""
    for text in SETUP:
        say(engine, text)
    rng = random.Random(7)
    first = datetime.combine(SPRINT - timedelta(days=28), datetime.min.time(), UTC)
    readings: dict[str, list[Reading]] = {"deploy": [], "tickets": []}
    for hour in range(42 * 24):
        at = first + timedelta(hours=hour)
        if at > NOW:
            break
        readings["deploy"].append(Reading(at, (24 if at >= datetime(2026, 11, 21, tzinfo=UTC)
                                               else 30) + rng.gauss(0, 0.5)))
        readings["tickets"].append(Reading(at, 80 + rng.gauss(0, 1)))
    with transaction(session_factory(engine)) as session:
        for key, values in readings.items():
            metric_id = session.scalar(select(Metric.id).where(Metric.key == key))
            assert metric_id is not None
            store_readings(session, metric_id, values, origin="backfill", recorded_by="t")
    return engine


def review_of(engine: Engine):
    with session_factory(engine)() as session:
        return build_review(session, "T1", THIS_SPRINT, NOW)


def test_a_review_says_what_moved_after_a_deliverable_shipped_in_the_period(fleet) -> None:
    told = say(fleet, 'shipped fleet "Automatic rollback" at=2026-11-20T18:00 '
                      "moves=deploy,tickets", MIA)

    assert told.startswith("Recorded: 'Automatic rollback' of fleet shipped at "
                           "2026-11-20 18:00 UTC. It is meant to move deploy, tickets.")
    review = review_of(fleet)
    (shipped,) = review.initiatives[0].shipped
    assert (shipped.name, shipped.shipped_on) == ("Automatic rollback", date(2026, 11, 20))
    deploy, tickets = shipped.since
    assert deploy.change.assessment is not None and tickets.change.assessment is not None
    assert deploy.change.assessment.verdict is Verdict.MOVED
    assert deploy.change.movement.value == "improved"
    assert deploy.change.before is not None and deploy.change.after is not None
    assert (round(deploy.change.before.value), round(deploy.change.after.value)) == (30, 24)
    assert tickets.change.assessment.verdict is Verdict.WITHIN
    text = review_terminal(review)
    assert ("Shipped: 'Automatic rollback' shipped Nov 20 — since then: Deploy time 30.0 min "
            "→ 24.1 min (improved, well beyond normal variation); Tickets 80.0 → 79.9 (within "
            "normal variation)") in text
    assert "Shipped in the period" in review_markdown(review)
    blocks = json.dumps(initiative_blocks(review.initiatives[0]))
    assert "*Shipped in the period*" in blocks
    document = json.loads(review_json(review))["initiatives"][0]["deliverables"]
    assert document == [{
        "name": "Automatic rollback", "moves": ["deploy", "tickets"],
        "shipped_at": "2026-11-20T18:00:00+00:00", "shipped_on": "2026-11-20",
        "in_period": True, "unmeasured": None, "since": document[0]["since"]}]
    assert [m["metric"] for m in document[0]["since"]] == ["deploy", "tickets"]
    assert document[0]["since"][0]["verdict"] == "moved"


def test_the_chart_marks_a_shipped_deliverable_on_the_metrics_it_moves(fleet) -> None:
    say(fleet, 'shipped fleet "Automatic rollback" at=2026-11-20 moves=deploy')

    figure = initiative_figure(review_of(fleet).initiatives[0])

    deploy, tickets = figure.axes[:2]
    assert "shipped: Automatic rollback" in [t.get_text() for t in deploy.texts]
    assert "shipped: Automatic rollback" not in [t.get_text() for t in tickets.texts]


def test_a_deliverable_shipped_before_the_period_is_not_listed_as_shipped_in_it(fleet) -> None:
    say(fleet, 'shipped fleet "Old thing" at=2026-11-01 moves=deploy')

    initiative = review_of(fleet).initiatives[0]

    assert initiative.shipped == ()
    assert [d.name for d in initiative.deliverables] == ["Old thing"]
    assert "Shipped" not in review_terminal(review_of(fleet))


def test_a_deliverable_that_moves_nothing_measured_is_flagged_in_the_review_and_check(
        fleet) -> None:
    say(fleet, 'shipped fleet "Regional mirrors" at=2026-11-25')
    say(fleet, 'deliverable fleet "Rollback" moves=deploy')
    say(fleet, "agree fleet")
    say(fleet, "agree fleet", Actor("T1", "ben"))

    text = review_terminal(review_of(fleet))
    with session_factory(fleet)() as session:
        report = check(session, "T1", NOW)

    assert ("'Regional mirrors' names no metric it is meant to move: if a feature cannot "
            "be measured, it is not complete") in text
    assert "— it moves nothing measured" in text
    verdicts = {v.metric: v for v in report.verdicts if v.kind == "deliverable"}
    assert verdicts["Regional mirrors"].outcome is Outcome.FAILED
    assert verdicts["Rollback"].outcome is Outcome.PASSED
    assert report.exit_code == 1
    kinds = {v["metric"]: v["kind"] for v in json.loads(report_json(report))["verdicts"]}
    assert kinds["Regional mirrors"] == "deliverable" and kinds["deploy"] == "metric"


def test_shipping_again_changes_nothing_and_names_match_whatever_their_case(fleet) -> None:
    say(fleet, 'shipped fleet "Automatic rollback" at=2026-11-20 moves=deploy')

    again = say(fleet, 'shipped fleet "automatic  ROLLBACK" at=2026-11-20')
    moved = say(fleet, 'shipped fleet "Automatic rollback" at=2026-11-21')

    assert again == ("'Automatic rollback' of fleet already shipped at 2026-11-20 00:00 UTC; "
                     "nothing changed.")
    assert moved.startswith("Recorded: 'Automatic rollback' of fleet shipped at 2026-11-21")
    with session_factory(fleet)() as session:
        rows = session.scalars(select(Deliverable)).all()
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("deliverable%"))).all()
    assert [(r.name, r.moves, r.shipped_by) for r in rows] == [
        ("Automatic rollback", ["deploy"], "ana")]
    assert actions == ["deliverable added", "deliverable changed"]


@pytest.mark.parametrize(("text", "message"), [
    ('shipped fleet "X" moves=depoy', "fleet has no metric depoy: a deliverable moves "
                                      "metrics of its initiative (deploy, tickets). "
                                      "Did you mean deploy?"),
    ('shipped fleet "X" at=2027-01-01', "2027-01-01 00:00 UTC is in the future: record a "
                                         "deliverable when it has shipped."),
    ("shipped fleet", "Missing the initiative or the deliverable's name (quoted)."),
    ('shipped fleet "X" at=yesterday', "at must be a date or date-time like 2026-11-20"),
    ('shipped nope "X"', "No initiative 'nope'. Known initiatives: fleet."),
    ('deliverable fleet "X"', "Say which metrics it is meant to move: moves=<metric>,... "
                              "(or moves=none)."),
    ('deliverable remove fleet "X"', "fleet has no deliverable 'X'. Deliverables: none yet."),
    ('deliverable remove fleet "X" moves=deploy', "`deliverable remove` takes no options"),
])
def test_bad_input_gets_a_specific_message_and_stores_nothing(fleet, text, message) -> None:
    told = refused(fleet, text)

    assert message in told
    with session_factory(fleet)() as session:
        assert session.scalars(select(Deliverable)).all() == []


def test_only_the_owners_relink_or_remove_what_anyone_may_ship(fleet) -> None:
    say(fleet, 'shipped fleet "Rollback" at=2026-11-20 moves=deploy', MIA)

    relink = refused(fleet, 'shipped fleet "Rollback" moves=tickets', MIA)
    remove = refused(fleet, 'deliverable remove fleet "Rollback"', MIA)
    removed = say(fleet, 'deliverable remove fleet "rollback"')

    assert relink.startswith("Only the owners of fleet")
    assert "change its deliverables" in remove
    assert removed == "Removed the deliverable 'Rollback' from fleet."


def test_the_grammar_reads_ship_times_metric_lists_and_none() -> None:
    assert parse('shipped fleet "Auto rollback" at=2026-11-20T14:30 moves=a,b') == Shipped(
        "fleet", "Auto rollback", datetime(2026, 11, 20, 14, 30), ("a", "b"))
    assert parse('deliverable fleet "Mirrors" moves=none') == DeliverableCommand(
        "fleet", "Mirrors", ())
    assert parse('deliverable remove fleet "Mirrors"') == DeliverableCommand(
        "fleet", "Mirrors", remove=True)


def test_names_that_look_like_tex_are_drawn_as_written(fleet) -> None:
    say(fleet, 'shipped fleet "Pricing $\\undefined$ page" at=2026-11-20 moves=deploy')
    say(fleet, 'metric add fleet deploy "Cost in $\\frac{1}{0 $"')

    figure = initiative_figure(review_of(fleet).initiatives[0])
    png = png_bytes(figure)

    assert png.startswith(b"\x89PNG")
    assert "shipped: Pricing $\\undefined$ page" in [t.get_text() for t in figure.axes[0].texts]


def test_show_lists_the_deliverables_with_their_state(fleet) -> None:
    say(fleet, 'shipped fleet "Automatic rollback" at=2026-11-20T14:30 moves=deploy')
    say(fleet, 'deliverable fleet "Regional mirrors" moves=none')

    shown = say(fleet, "show fleet")

    assert shown.endswith("Deliverables:\n"
                          "  • Automatic rollback (shipped 2026-11-20 14:30; moves deploy)\n"
                          "  • Regional mirrors (not shipped yet; moves nothing measured)")
