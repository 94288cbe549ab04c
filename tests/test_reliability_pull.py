"""A scheduled pull killed (SIGKILL) halfway and run again: nothing lost, nothing doubled.

The puller runs in a child process, as the clock does, against a local HTTP source that
answers slowly; the test kills it once some metrics are written and others are still being
read, then starts it again later in the same interval. Samples are idempotent per
(metric, segment, time) and each attempt is written in the transaction of its samples, so
the restart pulls exactly the metrics whose results were lost, and every metric ends with
one sample at the slot time and one successful attempt.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.storage.db import session_factory, transaction
from bot.storage.models import Metric, MetricSegment, PullAttempt, Sample

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)

ROOT = Path(__file__).resolve().parents[1]
METRICS = 48
LATENCY = 0.15  # seconds per answer: with 4 workers a full pull takes about 2 s
SLOT = datetime(2026, 11, 29, 10, tzinfo=UTC)  # hourly slot both runs fall in
FIRST_RUN, RERUN = SLOT + timedelta(minutes=20), SLOT + timedelta(minutes=35)

PULL = """
import sys
from datetime import datetime
from bot.storage.db import make_engine, session_factory
from metrics.connection_file import parse_connections
from metrics.pulling import Puller, PullPolicy
from metrics.resources import open_resources

url, now, source = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
connections = parse_connections({"connections": {"slow": {
    "kind": "http", "url": source, "allow_private": ["127.0.0.1/32"]}}})
resources = open_resources(connections=connections)
puller = Puller(session_factory(make_engine(url)), resources,
                PullPolicy(concurrency=4, retries=0), clock=lambda: now)
report = puller.pull_due(now)
print(len(report.outcomes), len(report.failed), report.stored, flush=True)
"""


class SlowSource(ThreadingHTTPServer):
    """Answers ``GET /m/<n>`` with ``{"value": n * 10}`` after ``LATENCY`` seconds."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.requests: list[str] = []
        self.lock = threading.Lock()


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowSource

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        time.sleep(LATENCY)
        body = json.dumps({"value": int(self.path.rsplit("/", 1)[1]) * 10}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the puller was killed while we slept


@pytest.fixture
def source() -> Iterator[SlowSource]:
    server = SlowSource()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def add_metrics(engine: Engine) -> dict[int, float]:
    """``METRICS`` hourly http metrics; returns metric id -> the value its source gives."""
    actor = Actor("T1", "eve", admin=True)  # a pulled source is an admin's to set
    expected = {}
    with transaction(session_factory(engine)) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        for n in range(METRICS):
            metric, _ = define_metric(session, actor, "fleet", f"m{n:02d}", {
                "name": f"M{n}", "target_value": 1.0, "source_kind": "http",
                "source_config": {"connection": "slow", "path": f"/m/{n}", "value": "value",
                                  "every": "1h"}}, now=NOW)
            expected[metric.id] = n * 10.0
    return expected


def start_pull(url: str, now: datetime, port: int) -> subprocess.Popen[str]:
    """The pull in a child process, with the slow source registered as connection `slow`."""
    return subprocess.Popen([sys.executable, "-c", PULL, url, now.isoformat(),
                             f"http://127.0.0.1:{port}"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def test_a_pull_killed_midway_and_rerun_stores_each_value_exactly_once(
        engine: Engine, source: SlowSource) -> None:
    expected = add_metrics(engine)
    port = source.server_address[1]
    url = engine.url.render_as_string(hide_password=False)

    first = start_pull(url, FIRST_RUN, port)
    deadline = time.monotonic() + 30
    while count(engine, PullAttempt) < METRICS // 4 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(0.2)  # let the source log a request that was on the wire at the kill
    written, asked = count(engine, PullAttempt), len(source.requests)

    # Killed mid-run: some results written, others read (or being read) but lost.
    assert METRICS // 4 <= written < METRICS
    assert count(engine, Sample) == written
    assert asked > written

    second = start_pull(url, RERUN, port)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    pulled, failed, stored = map(int, out.split())
    assert (pulled, failed, stored) == (METRICS - written, 0, METRICS - written)

    with session_factory(engine)() as session:
        samples = session.execute(select(Sample.metric_id, Sample.segment, Sample.observed_at,
                                         Sample.value)).all()
        attempts = session.scalars(select(PullAttempt)).all()
        series = session.scalars(select(MetricSegment.metric_id)).all()
        metric_ids = set(session.scalars(select(Metric.id)))
    assert sorted((m, s, at, v) for m, s, at, v in samples) == sorted(
        (metric_id, "", SLOT, value) for metric_id, value in expected.items())
    assert sorted(a.metric_id for a in attempts) == sorted(metric_ids)  # one per metric
    assert all(a.ok and a.samples_stored == 1 and a.error == "" for a in attempts)
    assert {a.trigger for a in attempts} == {"schedule"}
    assert sorted(series) == sorted(metric_ids)
    # The rerun asked the source only for what had not been written.
    assert len(source.requests) == asked + METRICS - written

    third = start_pull(url, RERUN + timedelta(minutes=5), port)  # later in the same slot
    out, _ = third.communicate(timeout=60)
    assert out.split() == ["0", "0", "0"]
    assert (count(engine, Sample), count(engine, PullAttempt)) == (METRICS, METRICS)
    assert len(source.requests) == asked + METRICS - written
