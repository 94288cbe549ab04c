"""How long "what moved this sprint?" takes over 1,000 metrics with 90 days of hourly samples.

    python bench/moved.py                 # SQLite file in a temporary folder
    python bench/moved.py --postgres      # a throwaway PostgreSQL cluster (needs its binaries)
    python bench/moved.py --url URL       # any database; data already there is reused

Prints the load time, then the answer time (median and worst of several runs), with the
verdicts' statistics on; then the floor: one hand-written SQL query computing the plain
before/after (each series' latest value at the period start and at its end) over the same
data, and the ratio. Goal: the answer under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app.commands import execute
from bot.app.context import Actor, Context
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative, get_initiative
from bot.core.periods import PeriodSpec
from bot.core.points import Reading
from bot.grammar import commands as g
from bot.processes import settle_startup_objects
from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.samples import store_readings

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
INITIATIVES, METRICS_EACH, DAYS = 50, 20, 90


def load(sessions, actor: Actor) -> int:
    rows = 0
    start = NOW - timedelta(days=DAYS)
    hours = [start + timedelta(hours=h) for h in range(DAYS * 24)]
    for i in range(INITIATIVES):
        key = f"init-{i:02d}"
        with transaction(sessions) as session:
            define_initiative(session, actor, key, {
                "name": f"Initiative {i}", "sprint_anchor": date(2026, 11, 16),
                "timezone": "Europe/Berlin",
            }, now=NOW)
            for m in range(METRICS_EACH):
                metric, _ = define_metric(session, actor, key, f"m{m:02d}", {
                    "name": f"Metric {m}", "baseline_value": 100.0,
                    "target_value": 50.0 if m % 2 else 150.0,
                    "direction": "down" if m % 2 else "up",
                    "target_date": date(2027, 6, 30),
                }, now=NOW)
                slope = (m % 7 - 3) * 0.01
                readings = [Reading(at, 100 + slope * n + (n * 7919 % 13) * 0.1)
                            for n, at in enumerate(hours)]
                rows += store_readings(session, metric.id, readings, origin="backfill",
                                       recorded_by="bench")
    return rows


PLAIN_BEFORE_AFTER = """
SELECT ms.metric_id, ms.segment,
  (SELECT s.value FROM samples s WHERE s.metric_id = ms.metric_id
     AND s.segment = ms.segment AND s.observed_at <= :start
     ORDER BY s.observed_at DESC LIMIT 1),
  (SELECT s.value FROM samples s WHERE s.metric_id = ms.metric_id
     AND s.segment = ms.segment AND s.observed_at <= :end
     ORDER BY s.observed_at DESC LIMIT 1)
FROM metric_segments ms
"""


def plain_before_after_ms(engine, runs: int) -> float:
    """Median milliseconds of the plain before/after of every series, hand-written."""
    start = datetime(2026, 11, 15, 23, tzinfo=UTC)  # this sprint's start (Berlin midnight)
    bounds = {"start": start.replace(tzinfo=None), "end": NOW.replace(tzinfo=None)}
    timings = []
    with engine.connect() as connection:
        for _ in range(runs):
            started = time.perf_counter()
            rows = connection.execute(text(PLAIN_BEFORE_AFTER), bounds).all()
            timings.append((time.perf_counter() - started) * 1000)
    assert len(rows) == INITIATIVES * METRICS_EACH
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with ExitStack() as stack:
        if options.postgres:
            from tests.pg import PostgresCluster, find_bindir

            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("No PostgreSQL server binaries found.")
            cluster = PostgresCluster.start(bindir)
            stack.callback(cluster.stop)
            url = cluster.url(cluster.create_database("bench_moved"))
        elif options.url:
            url = options.url
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{folder}/bench.db"
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        sessions = session_factory(engine)
        actor = Actor("bench", "bench")
        with sessions() as session:
            loaded = get_initiative(session, actor.workspace, "init-00") is not None
        if loaded:
            print(f"backend: {engine.dialect.name}; reusing the data already in {url}")
        else:
            started = time.perf_counter()
            rows = load(sessions, actor)
            print(f"backend: {engine.dialect.name}; loaded {rows:,} samples of "
                  f"{INITIATIVES * METRICS_EACH:,} metrics in "
                  f"{time.perf_counter() - started:.1f} s")
        floor = plain_before_after_ms(engine, options.runs)
        ctx = Context(actor, sessions, now=lambda: NOW)
        # Warm up, then settle the objects built so far, as a server process does once it
        # has started (bot/processes.py).
        execute(g.Moved(PeriodSpec("this_sprint")), ctx)
        settle_startup_objects()
        command = g.Moved(PeriodSpec("this_sprint"))
        timings = []
        for _ in range(options.runs):
            started = time.perf_counter()
            reply = execute(command, ctx)
            timings.append((time.perf_counter() - started) * 1000)
        moved = reply.text.count("\n")
        answer = statistics.median(timings)
        print(f'"what moved this sprint?": {moved} lines; median {answer:.0f} ms, worst '
              f"{max(timings):.0f} ms over {options.runs} runs (goal: < 300 ms)")
        print(f"floor: the plain before/after in one SQL query, median {floor:.0f} ms; "
              f"ratio {answer / floor:.1f}")


if __name__ == "__main__":
    main()
