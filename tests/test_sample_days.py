"""sample_days: each series' samples per UTC day, kept by the trigger of migration 0014
on every insert (whichever code inserts), filled in for the samples stored before it,
and read back as daily series — on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, text

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.core.points import Reading
from bot.storage.daily_values import daily_values
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.models import Sample, SampleDay
from bot.storage.samples import store_readings

NOW = datetime(2031, 3, 20, 12, tzinfo=UTC)
DAY = date(2031, 3, 10)


def a_metric(engine: Engine) -> int:
    sessions = session_factory(engine)
    actor = Actor("T1", "U1")
    with transaction(sessions) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet", "sprint_anchor": DAY},
                          now=NOW)
        metric, _ = define_metric(session, actor, "fleet", "deploy", {
            "name": "Deploy", "baseline_value": 40.0, "target_value": 12.0,
            "direction": "down", "target_date": date(2031, 6, 30)}, now=NOW)
        return metric.id


def days_of(engine: Engine) -> list[tuple[str, date, int, float]]:
    with engine.connect() as connection:
        rows = connection.execute(select(SampleDay.segment, SampleDay.epoch_day,
                                         SampleDay.samples, SampleDay.total)
                                  .order_by(SampleDay.segment, SampleDay.epoch_day))
        return [(segment, date.fromordinal(day + date(1970, 1, 1).toordinal()), n, total)
                for segment, day, n, total in rows]


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_each_stored_sample_is_counted_once_in_its_utc_day(engine: Engine) -> None:
    metric_id = a_metric(engine)
    sessions = session_factory(engine)
    readings = [Reading(at(DAY, 0), 10.0), Reading(at(DAY, 23), 20.0),
                Reading(at(DAY + timedelta(days=1), 0), 5.0),
                Reading(at(DAY, 12), 3.0, segment="region=eu")]
    with transaction(sessions) as session:
        assert store_readings(session, metric_id, readings, origin="pull",
                              recorded_by="test") == 4
    with transaction(sessions) as session:  # the same readings again store nothing
        assert store_readings(session, metric_id, [*readings, Reading(at(DAY, 6), 30.0)],
                              origin="pull", recorded_by="test") == 1

    assert days_of(engine) == [("", DAY, 3, 60.0), ("", DAY + timedelta(days=1), 1, 5.0),
                               ("region=eu", DAY, 1, 3.0)]
    with sessions() as session:
        found = daily_values(session, [metric_id], DAY.toordinal() - 5, DAY.toordinal() + 1)
    total = found[metric_id][""]
    assert total.days == [DAY.toordinal(), DAY.toordinal() + 1]
    assert total.values == [20.0, 5.0]  # each day's mean
    assert found[metric_id]["region=eu"].values == [3.0]
    with sessions() as session:  # days outside the range are left out
        assert daily_values(session, [metric_id], DAY.toordinal() + 1,
                            DAY.toordinal() + 1)[metric_id][""].values == [5.0]


def test_samples_inserted_without_the_bots_code_are_counted_too(engine: Engine) -> None:
    """What the release still running during a rollout inserts goes through the trigger."""
    metric_id = a_metric(engine)
    with engine.begin() as connection:
        connection.execute(insert(Sample), [
            {"metric_id": metric_id, "segment": "", "observed_at": at(DAY, h), "value": h,
             "origin": "pull", "recorded_by": "old", "recorded_at": NOW} for h in (1, 2, 3)])
    assert days_of(engine) == [("", DAY, 3, 6.0)]


def test_a_metrics_days_go_with_it(engine: Engine) -> None:
    metric_id = a_metric(engine)
    with transaction(session_factory(engine)) as session:
        store_readings(session, metric_id, [Reading(at(DAY, 1), 1.0)], origin="pull",
                       recorded_by="test")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("PRAGMA foreign_keys = ON"))
        connection.execute(text("DELETE FROM metrics WHERE id = :id"), {"id": metric_id})
    assert days_of(engine) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_fills_in_the_days_of_samples_stored_before_it(
        backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "postgresql":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("sqlite_url")
    engine = make_engine(url)
    try:
        upgrade(engine, "0013")
        metric_id = a_metric(engine)
        with transaction(session_factory(engine)) as session:
            store_readings(session, metric_id, [Reading(at(DAY, h), float(h))
                                                for h in range(0, 24, 6)],
                           origin="backfill", recorded_by="test")
        upgrade(engine)
        assert days_of(engine) == [("", DAY, 4, 36.0)]
        with transaction(session_factory(engine)) as session:  # and the trigger from then
            store_readings(session, metric_id, [Reading(at(DAY, 7), 4.0)], origin="pull",
                           recorded_by="test")
        assert days_of(engine) == [("", DAY, 5, 40.0)]
    finally:
        engine.dispose()
