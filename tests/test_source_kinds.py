"""One list of source kinds: a plugin installed as a package is a kind everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from plugins import installed_plugin
from sqlalchemy import Engine, select

from bot.app import criteria
from bot.app.context import Actor
from bot.app.criteria import CriteriaInvalid
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.grammar import commands as g
from bot.storage.db import session_factory, transaction
from bot.storage.models import Sample
from handlers.modals import metric_view
from metrics import kinds
from metrics.jobs import PullJob, pulled_metrics
from metrics.pulling import Puller
from metrics.resources import Resources

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
EVE = Actor("T1", "eve", admin=True)  # a pulled source is an admin's to set
TOY = '''
from bot.core.points import Reading


class Source:
    kind = "toy"

    def __init__(self, config):
        self.value = float(config.get("value", 7))

    def read(self, at):
        return [Reading(at, self.value)]
'''
CRITERIA = """\
version: 1
initiatives:
- key: fleet
  name: Fleet
  metrics:
  - key: toys
    name: Toys
    baseline: 1
    target: 10
    source:
      kind: {kind}
"""


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[None]:
    with installed_plugin(tmp_path, "toy", "outcome_toy", TOY):
        yield


def test_a_plugin_kind_is_listed_with_the_built_ins(toy: None) -> None:
    assert kinds.source_kinds() == sorted(
        {"csv", "demo", "http", "manual", "prometheus", "push", "sql", "toy"})
    assert kinds.is_pulled("toy") and not kinds.is_pulled("manual")
    assert kinds.unpulled_kinds() == {"manual", "push"}


def test_the_grammar_takes_a_plugin_kind_and_names_it_when_refusing(toy: None) -> None:
    command = g.parse('metric add fleet toys "Toys" baseline=1 target=10 source=toy')

    assert isinstance(command, g.MetricAdd)
    assert command.fields["source_kind"] == "toy"
    with pytest.raises(g.UsageError, match=r"Did you mean toy\?"):
        g.parse('metric add fleet toys "Toys" baseline=1 target=10 source=toyy')


def test_a_criteria_file_takes_a_plugin_kind(toy: None) -> None:
    loaded = criteria.load(CRITERIA.format(kind="toy"))

    assert loaded.initiatives[0].metrics[0].fields["source_kind"] == "toy"
    with pytest.raises(CriteriaInvalid, match="did you mean toy"):
        criteria.load(CRITERIA.format(kind="toyy"))


def test_the_slack_metric_modal_offers_a_plugin_kind(toy: None) -> None:
    view = metric_view("fleet", [("fleet", "Fleet")], "C0REVIEWS")

    source = next(block for block in view["blocks"] if block.get("block_id") == "source")
    assert "toy" in [option["value"] for option in source["element"]["options"]]


def test_the_puller_pulls_a_plugin_kind(toy: None, engine: Engine) -> None:
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        define_initiative(session, EVE, "fleet", {"name": "Fleet", "sprint_anchor": NOW.date()},
                          now=NOW)
        define_metric(session, EVE, "fleet", "toys", {
            "name": "Toys", "target_value": 10.0, "source_kind": "toy",
            "source_config": {"value": 42}}, now=NOW)
    with transaction(sessions) as session:
        jobs = [PullJob.of(metric) for metric in pulled_metrics(session, "T1")]
    with httpx.Client() as client:
        report = Puller(sessions, Resources(http=client), clock=lambda: NOW).pull(jobs)

    assert [outcome.ok for outcome in report.outcomes] == [True]
    with transaction(sessions) as session:
        assert session.scalars(select(Sample.value)).all() == [42.0]
