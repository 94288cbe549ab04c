"""The task queue on PostgreSQL (procrastinate) with real processes: start latency, pull
throughput per worker count, and ack latency while the workers are saturated.

    python bench/task_queue.py                       # all three parts (about 7 minutes)
    python bench/task_queue.py --part latency        # or scale, ack, fetch
    python bench/task_queue.py --tasks 500 --interval 50
    python bench/task_queue.py --metrics 2000 --workers 1,2,4 --latency 20 [--analyze]
    python bench/task_queue.py --commands 300 --rate 20 --backlog 3000

Starts a throwaway PostgreSQL cluster (tests/pg.py: fsync off), the fake Slack Web API
(tests/fake_slack.py) in this process, and a loopback HTTP source in a process of its own
(asyncio, keep-alive) that answers each path after the delay the path names and notes when
each path was asked for. The bot runs as ``python3 -m bot worker`` and
``python3 -m bot serve`` child processes (tests/process_helpers.py) with the default
OUTCOME_WORKER_THREADS, reading the source through an operator's connection that allows
loopback. Pulled metrics are seeded as tests/test_durable_processes.py defines them, but
in one INSERT (``define_metric`` takes minutes for thousands). Times across processes
are this machine's wall clock (``time.time()``; the bot's log lines to the millisecond).

1. latency: one ``worker`` process. ``--tasks`` ``pulls.metric`` tasks, one every
   ``--interval`` ms, deferred through ``PostgresQueue.defer`` as the minute's tick defers
   them (lock and queueing lock ``metric:<id>``), each for a metric created just before it
   (so no minute tick can defer it first) whose source answers at once. Start: when the
   task's read reached the source (its due re-check included); also when procrastinate
   logged starting the job. The default interval is one a worker keeps up with: at 20 ms
   a queue builds up and the figure is its throughput (part 2), not a start latency.
   Floor: the same deferrals as a bare ``INSERT … ; pg_notify`` in psycopg, and a consumer
   process LISTENing on a connection of its own that, woken, claims the row with
   ``SELECT … FOR UPDATE SKIP LOCKED`` and reads the same source.
2. scale: for each N of ``--workers``, a fresh database with ``--metrics`` due metrics whose
   source answers after ``--latency`` ms; N ``worker`` processes started and idle (their
   start-up tick found nothing due), then one ``pulls.due`` deferred as the minute's tick
   defers it. Timed from that deferral until every metric has a sample. Floor: the same
   number of GETs from a plain thread pool of httpx clients, N × pulls threads at once, and
   one executemany INSERT of the values. What bounds the curve: CPU of the machine
   (/proc/stat) and of each process tree (/proc/<pid>/stat) over the run, and what
   PostgreSQL was busy with (pg_stat_activity sampled every 50 ms). ``--analyze`` runs
   ``ANALYZE procrastinate_jobs`` once the tick has deferred its pulls: until the table has
   statistics of a full queue (autovacuum's, a minute or more later), PostgreSQL plans
   procrastinate's fetch as a scan of every waiting job, each checked against the others.
3. ack: one ``serve`` process (on PostgreSQL it only defers). ``--commands`` signed
   ``/outcome record`` commands at ``--rate`` per second, at most 10 in flight, from a load
   generator in a process of its own: first with no worker running (the floor), then while
   two workers pull a backlog of ``--backlog`` due metrics (deferred by their start-up
   tick). Goal: ack p99 <= 300 ms. Then checks that every record was stored.
4. fetch: procrastinate's fetch of the next job, ``--metrics`` and 4 × ``--metrics`` pulls
   waiting as one tick defers them, before PostgreSQL has statistics on them: at migration
   0010, then with 0011's index on the lock; floor: after ``ANALYZE``. Then the next
   tick's ``defer_many`` while all ``--metrics`` pulls still wait (floor: the one query
   that finds them waiting).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import psycopg  # noqa: E402
from fake_slack import TEAM, FakeSlack  # noqa: E402
from pg import PostgresCluster, find_bindir  # noqa: E402
from process_helpers import (  # noqa: E402
    BotProcess,
    Launcher,
    bot_environment,
    free_port,
    wait_until,
)
from slack_helpers import (  # noqa: E402
    CHANNEL,
    ENG,
    PO,
    command_request,
)
from sqlalchemy import Engine, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.app.context import Actor  # noqa: E402
from bot.app.metric_changes import define_metric  # noqa: E402
from bot.app.services import define_initiative  # noqa: E402
from bot.clock import PULL_METRIC, PULLS_DUE, metric_lock  # noqa: E402
from bot.core.settings import DEFAULT_WORKER_THREADS, WORKER_THREADS  # noqa: E402
from bot.storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.storage.models import Initiative, Metric  # noqa: E402
from bot.tasks.postgres import PostgresQueue, conninfo  # noqa: E402
from bot.tasks.spec import Deferral, Queue  # noqa: E402

GOAL_MS = 300.0
PULLS_THREADS = DEFAULT_WORKER_THREADS[Queue.PULLS]
QUEUES_PER_WORKER = sum(1 for count in DEFAULT_WORKER_THREADS.values() if count > 0)
ACK_CONCURRENCY = 10
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
SPAWN = multiprocessing.get_context("spawn")


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (p99 of 300 values is the 297th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def spread(values: Sequence[float], unit: str = "ms") -> str:
    """p50/p95/p99/max of ``values``."""
    if not values:
        return "no values"
    return (f"p50 {percentile(values, .5):6.1f} {unit}   p95 {percentile(values, .95):6.1f} "
            f"{unit}   p99 {percentile(values, .99):6.1f} {unit}   max {max(values):6.1f} {unit}")


# ---------------------------------------------------------------------------- the source

def serve_source(port: int) -> None:
    """A keep-alive HTTP/1.1 server: ``GET /<delay ms>/<tag>/<n>`` answers ``{"value": n}``
    after the delay and notes when the path was asked for; ``GET /_hits?since=k`` lists
    the hits from the k-th on as JSON ``[[path, time], ...]``."""
    hits: list[tuple[str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if path.startswith("/_hits"):
                    since = int(path.partition("since=")[2] or 0)
                    body = json.dumps(hits[since:]).encode()
                else:
                    hits.append((path, time.time()))
                    parts = path.split("?", 1)[0].split("/")
                    delay = int(parts[1]) / 1000
                    if delay:
                        await asyncio.sleep(delay)
                    body = b'{"value": %d}' % int(parts[-1])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Source:
    """The loopback source in its own process, and the hits it noted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = SPAWN.Process(target=serve_source, args=(self.port,), daemon=True)
        self._seen = 0
        self.first_hit: dict[str, float] = {}
        self.hit_count: Counter[str] = Counter()

    def start(self) -> Source:
        self.process.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or not self.process.is_alive():
                    raise RuntimeError("the source process did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def path(delay_ms: int, tag: str, number: int) -> str:
        return f"/{delay_ms}/{tag}/{number}"

    def refresh(self) -> None:
        """Fetch the hits noted since the last call."""
        with httpx.Client(timeout=30) as client:
            new = client.get(f"{self.url}/_hits?since={self._seen}").json()
        self._seen += len(new)
        for path, at in new:
            self.hit_count[path] += 1
            self.first_hit.setdefault(path, at)

    def wait_for(self, paths: Sequence[str], timeout: float, watched: list[BotProcess]
                 ) -> int:
        """Wait until each of ``paths`` was asked for (or ``timeout``); how many were."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            seen = sum(1 for path in paths if path in self.first_hit)
            if seen == len(paths) or time.monotonic() > deadline:
                return seen
            dead = [process for process in watched if not process.alive()]
            if dead:
                raise AssertionError("a bot process exited\n" + dead[0].describe())
            time.sleep(0.25)


# ---------------------------------------------------------------------------- CPU

def _stat_fields(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()  # from field 3 (state) on


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_cpu(pid: int, tree: dict[int, list[int]]) -> float:
    """CPU seconds of ``pid``, its reaped children and its live descendants."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / CLK_TCK + sum(tree_cpu(child, tree) for child in tree.get(pid, []))


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class CpuSample:
    at: float
    machine: float
    groups: dict[str, float]


class CpuMeter:
    """CPU seconds of named process groups and of the machine, between two samples."""

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups

    def sample(self) -> CpuSample:
        tree = _children()
        own = os.times()
        spent = {name: sum(tree_cpu(pid, tree) for pid in pids)
                 for name, pids in self.groups().items()}
        spent["bench"] = own.user + own.system  # this process only, not its children
        return CpuSample(time.monotonic(), machine_busy(), spent)

    @staticmethod
    def cores(before: CpuSample, after: CpuSample) -> dict[str, float]:
        """Cores kept busy on average, by group, and by the whole machine."""
        wall = max(after.at - before.at, 1e-9)
        used = {name: (after.groups[name] - before.groups.get(name, 0.0)) / wall
                for name in after.groups}
        used["machine"] = (after.machine - before.machine) / wall
        return used

    @staticmethod
    def describe(cores: dict[str, float]) -> str:
        ours = sum(value for name, value in cores.items() if name != "machine")
        parts = ", ".join(f"{name} {value:.2f}" for name, value in cores.items()
                          if name != "machine")
        return (f"CPU: the machine {cores['machine']:.2f} of {CORES} cores busy on average; "
                f"ours {ours:.2f} ({parts}); other work on the machine "
                f"{max(cores['machine'] - ours, 0):.2f}")


# ---------------------------------------------------------------------------- set-up

def now() -> datetime:
    return datetime.now(UTC)


def pulled_every(margin: timedelta = timedelta(minutes=15)) -> str:
    """A pull interval (whole minutes, about a day) whose current slot has at least
    ``margin`` left: a metric pulled now stays pulled for the whole bench."""
    stamp = int(now().timestamp())
    for minutes in range(24 * 60, 12 * 60, -1):
        if minutes * 60 - stamp % (minutes * 60) >= margin.total_seconds():
            return f"{minutes}m"
    raise RuntimeError("no interval with room left")


ADMIN = Actor(TEAM, PO, admin=True)  # a pulled source is an admin's to set


def seed_fleet(sessions: sessionmaker[Session]) -> None:
    """The initiative `fleet`, for the pulled metrics."""
    with transaction(sessions) as session:
        define_initiative(session, ADMIN, "fleet", {
            "name": "Fleet", "channel": CHANNEL,
            "sprint_anchor": (now() - timedelta(days=10)).date()}, now=now())


def seed_pulled(sessions: sessionmaker[Session], paths: Sequence[str], every: str,
                first: int = 0) -> list[int]:
    """One http metric of `fleet` per path of the `api` connection, as an admin defines
    it, in one INSERT (``define_metric`` looks through the initiative's metrics for each
    one: minutes for thousands); their ids."""
    with transaction(sessions) as session:
        fleet = session.scalars(select(Initiative.id).where(Initiative.key == "fleet")).one()
        rows = [{"initiative_id": fleet, "key": f"m{number:05d}", "name": f"M{number}",
                 "target_value": 1.0, "source_kind": "http", "created_at": now(),
                 "source_config": {"connection": "api", "path": path, "value": "value",
                                   "every": every}}
                for number, path in enumerate(paths, start=first)]
        return list(session.scalars(insert(Metric).returning(
            Metric.id, sort_by_parameter_order=True), rows))


RECORD_METRIC = "checkout.deploy-time"


def seed_manual(sessions: sessionmaker[Session]) -> None:
    """`checkout` owned by PO and ENG, with the manual metric `deploy-time`."""
    actor = Actor(TEAM, PO)
    with transaction(sessions) as session:
        define_initiative(session, actor, "checkout", {
            "name": "Faster checkout", "channel": CHANNEL, "product_owner": PO,
            "engineering_owner": ENG, "why": "More completed orders",
            "sprint_anchor": date.today() - timedelta(days=10)}, now=now())
        define_metric(session, actor, "checkout", "deploy-time", {
            "name": "Deploy time", "unit": "min", "direction": "down",
            "baseline_value": 40.0, "target_value": 12.0}, now=now())


def scalar(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar() or 0)


def metrics_pulled(engine: Engine) -> int:
    """Metrics of `fleet` with a sample."""
    return scalar(engine, "SELECT count(DISTINCT s.metric_id) FROM samples s JOIN metrics m "
                          "ON m.id = s.metric_id JOIN initiatives i ON i.id = m.initiative_id "
                          "WHERE i.key = 'fleet'")


def samples(engine: Engine) -> int:
    """Samples in the database (in a scale run: one per metric pulled, each of the slot's
    start)."""
    return scalar(engine, "SELECT count(*) FROM samples")


def records_stored(engine: Engine) -> int:
    return scalar(engine, "SELECT count(*) FROM samples s JOIN metrics m ON m.id = s.metric_id "
                          "WHERE m.key = 'deploy-time'")


def workers_registered(engine: Engine) -> int:
    return scalar(engine, "SELECT count(*) FROM procrastinate_workers")


def startup_tick_done(engine: Engine) -> bool:
    """A `pulls.due` was deferred for this minute and none waits or runs."""
    return bool(scalar(engine, "SELECT count(*) FROM procrastinate_periodic_defers "
                               "WHERE task_name = :t", t=PULLS_DUE)) and not scalar(
        engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t "
                "AND status IN ('todo', 'doing')", t=PULLS_DUE)


def ticks_running(engine: Engine) -> int:
    return scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t "
                          "AND status = 'doing'", t=PULLS_DUE)


def pulls_waiting(engine: Engine) -> int:
    return scalar(engine, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t "
                          "AND status = 'todo'", t=PULL_METRIC)


@dataclass
class Database:
    name: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@dataclass
class Bench:
    """What every part shares: the cluster, the fake Slack, the source, the launcher."""

    cluster: PostgresCluster
    slack: FakeSlack
    source: Source
    launcher: Launcher
    folder: Path
    every: str = field(default_factory=pulled_every)

    @contextmanager
    def database(self, hint: str, revision: str = "heads") -> Iterator[Database]:
        """A fresh database migrated to ``revision``; dropped afterwards."""
        name = self.cluster.create_database(f"queue_{hint}")
        url = self.cluster.url(name)
        engine = make_engine(url)
        upgrade(engine, revision)
        try:
            yield Database(name, url, engine, session_factory(engine))
        finally:
            engine.dispose()
            self.cluster.drop_database(name)

    def environment(self, url: str, **settings: str | float) -> dict[str, str]:
        """A bot process's settings: the database, the fake Slack, the source's connection,
        the default threads per queue."""
        connections = self.folder / "connections.yaml"
        if not connections.exists():
            connections.write_text(
                "connections:\n  api:\n    kind: http\n"
                f"    url: {self.source.url}\n    allow_private: ['127.0.0.1/32']\n")
        return bot_environment(url, self.slack, OUTCOME_CONNECTIONS_FILE=str(connections),
                               OUTCOME_WORKER_THREADS=WORKER_THREADS, **settings)

    def start_workers(self, db: Database, count: int, name: str, *,
                      idle: bool = True) -> list[BotProcess]:
        """``count`` worker processes, once each has registered its queues' workers and,
        with ``idle``, the start-up tick has run."""
        env = self.environment(db.url)
        workers = [self.launcher.start("worker", env, name=f"{name}-worker{n + 1}")
                   for n in range(count)]
        wait_until(lambda: workers_registered(db.engine) >= QUEUES_PER_WORKER * count
                   and (not idle or startup_tick_done(db.engine)),
                   f"{count} worker(s) to start", workers, timeout=300, interval=0.1)
        return workers

    def postmaster(self) -> int:
        return int((self.cluster.data / "postmaster.pid").read_text().split()[0])

    def meter(self, named: dict[str, list[BotProcess]]) -> CpuMeter:
        def groups() -> dict[str, list[int]]:
            pids = {name: [p.pid for p in processes] for name, processes in named.items()}
            pids["postgres"] = [self.postmaster()]
            pids["source"] = [self.source.process.pid or 0]
            return pids

        return CpuMeter(groups)


def stop_all(processes: Sequence[BotProcess]) -> None:
    """SIGTERM each; they finish the tasks they run."""
    for process in processes:
        if process.alive():
            process.process.terminate()
    for process in processes:
        process.stop(timeout=40)


def log_time(line: str) -> float:
    """The time of a log line (``%(asctime)s``: local time, ms)."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def log_times(processes: Sequence[BotProcess], needle: str, after: float) -> list[float]:
    """When lines containing ``needle`` were logged, from ``after`` on."""
    found = []
    for process in processes:
        for line in process.log_path.read_text(errors="replace").splitlines():
            if needle in line:
                with contextlib.suppress(ValueError):
                    at = log_time(line)
                    if at >= after - 0.001:
                        found.append(at)
    return sorted(found)


# ---------------------------------------------------------------------------- 1. latency

def steady(count: int, interval: float, step: Callable[[int], None]) -> float:
    """Call ``step(i)`` for i in range(count), the i-th ``i * interval`` s after the first
    (or as soon as possible when behind); the largest lag behind that schedule, in s."""
    started, lag = time.monotonic(), 0.0
    for index in range(count):
        due = started + index * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            lag = max(lag, -wait)
        step(index)
    return lag


def floor_consumer(info: str, source_url: str, count: int, ready: Any) -> None:
    """The floor's worker: LISTENs on one connection; woken, claims rows on another with
    FOR UPDATE SKIP LOCKED (oldest first), reads each one's path from the source, deletes
    the row; until ``count`` rows were done."""
    with psycopg.connect(info, autocommit=True) as listen, \
            psycopg.connect(info, autocommit=True) as work, \
            httpx.Client(base_url=source_url, timeout=30) as client:
        listen.execute("LISTEN bench_jobs")
        ready.set()
        done = 0
        while done < count:
            for _ in listen.notifies(timeout=1.0, stop_after=1):
                pass
            while True:
                row = work.execute(
                    "UPDATE bench_jobs SET status = 'doing' WHERE id = (SELECT id FROM "
                    "bench_jobs WHERE status = 'todo' ORDER BY id FOR UPDATE SKIP LOCKED "
                    "LIMIT 1) RETURNING id, path").fetchone()
                if row is None:
                    break
                client.get(row[1])
                work.execute("DELETE FROM bench_jobs WHERE id = %s", (row[0],))
                done += 1


@dataclass
class LatencyResult:
    latencies: list[float]  # ms, deferral -> the task's read reached the source
    lag: float  # s, how far the deferrals fell behind their schedule at worst
    missing: int = 0
    preempted: int = 0
    claimed: list[float] = field(default_factory=list)  # ms, deferral -> "Starting job"


def start_latencies(bench: Bench, paths: Sequence[str], deferred: Sequence[float | None],
                    lag: float) -> LatencyResult:
    """Each path's first hit minus its deferral, in ms (None: a tick had deferred it)."""
    result = LatencyResult([], lag)
    for path, at in zip(paths, deferred, strict=True):
        hit = bench.source.first_hit.get(path)
        if hit is None:
            result.missing += 1
        elif at is None or hit < at:
            result.preempted += 1
        else:
            result.latencies.append((hit - at) * 1000)
    return result


STARTING = re.compile(r"Starting job pulls\.metric\[(\d+)\]")


def job_starts(process: BotProcess) -> dict[int, float]:
    """When the worker logged starting each ``pulls.metric`` job, by job id."""
    starts = {}
    for line in process.log_path.read_text(errors="replace").splitlines():
        match = STARTING.search(line)
        if match:
            starts[int(match[1])] = log_time(line)
    return starts


def latency_bot(bench: Bench, tasks: int, interval: float, tag: str) -> LatencyResult:
    with bench.database("latency") as db:
        seed_fleet(db.sessions)
        queue = PostgresQueue(db.url, db.sessions)
        workers = bench.start_workers(db, 1, tag)
        paths: list[str] = []
        deferred: list[float | None] = []
        jobs: list[tuple[int, float]] = []

        def defer(index: int) -> None:
            path = Source.path(0, tag, index)
            (metric_id,) = seed_pulled(db.sessions, [path], bench.every, first=index)
            at = time.time()
            job = queue.defer(PULL_METRIC, {"metric_id": metric_id}, queue=Queue.PULLS,
                              lock=metric_lock(metric_id),
                              queueing_lock=metric_lock(metric_id))
            paths.append(path)
            deferred.append(at if job is not None else None)
            if job is not None:
                jobs.append((job, at))

        warm = 10  # the first tasks of a process load what a task needs
        steady(warm, interval, defer)
        bench.source.wait_for(paths, 60, workers)
        paths.clear()
        deferred.clear()
        jobs.clear()
        lag = steady(tasks, interval, lambda i: defer(warm + i))
        bench.source.wait_for(paths, 120, workers)
        stop_all(workers)
        queue.close()
    result = start_latencies(bench, paths, deferred, lag)
    starts = job_starts(workers[0])
    result.claimed = [(starts[job] - at) * 1000 for job, at in jobs if job in starts]
    return result


def latency_floor(bench: Bench, tasks: int, interval: float, tag: str) -> LatencyResult:
    with bench.database("latency_floor") as db:
        info = conninfo(db.url)
        with psycopg.connect(info, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, path text NOT "
                         "NULL, status text NOT NULL DEFAULT 'todo')")
            ready = SPAWN.Event()
            consumer = SPAWN.Process(target=floor_consumer,
                                     args=(info, bench.source.url, tasks + 10, ready))
            consumer.start()
            if not ready.wait(60):
                raise RuntimeError("the floor's consumer did not start")
            paths: list[str] = []
            deferred: list[float | None] = []

            def defer(index: int) -> None:
                path = Source.path(0, tag, index)
                at = time.time()
                conn.execute("WITH job AS (INSERT INTO bench_jobs (path) VALUES (%s) "
                             "RETURNING id) SELECT pg_notify('bench_jobs', id::text) FROM job",
                             (path,))
                paths.append(path)
                deferred.append(at)

            steady(10, interval, defer)
            bench.source.wait_for(paths, 60, [])
            paths.clear()
            deferred.clear()
            lag = steady(tasks, interval, lambda i: defer(10 + i))
            bench.source.wait_for(paths, 60, [])
            consumer.join(timeout=30)
            if consumer.is_alive():
                consumer.terminate()
    return start_latencies(bench, paths, deferred, lag)


def falling_behind(latencies: Sequence[float]) -> bool:
    """The last quarter started much later than the first: a queue built up."""
    quarter = len(latencies) // 4
    if quarter < 5:
        return False
    first = statistics.median(latencies[:quarter])
    last = statistics.median(latencies[-quarter:])
    return last > 3 * first and last > 100


def part_latency(bench: Bench, options: argparse.Namespace) -> None:
    interval = options.interval / 1000
    print(f"\n1. enqueue -> start latency: {options.tasks} tasks, one every "
          f"{options.interval:g} ms ({1 / interval:.0f}/s), a source that answers at once",
          flush=True)
    bot = latency_bot(bench, options.tasks, interval, f"lat{options.run}")
    floor = latency_floor(bench, options.tasks, interval, f"latf{options.run}")
    for name, result in (("bot", bot), ("floor", floor)):
        notes = []
        if result.preempted:
            notes.append(f"{result.preempted} deferred by a minute tick first, left out")
        if result.missing:
            notes.append(f"{result.missing} never started")
        if result.lag > interval:
            notes.append(f"deferring fell up to {result.lag * 1000:.0f} ms behind schedule")
        if falling_behind(result.latencies):
            notes.append("the worker fell behind (a queue built up: this is its throughput, "
                         "not its start latency; try a longer --interval)")
        label = ("`python3 -m bot worker` (a real process), pulls.metric deferred through "
                 "PostgresQueue.defer" if name == "bot" else
                 "bare INSERT + pg_notify; a psycopg process LISTENs, claims with "
                 "FOR UPDATE SKIP LOCKED")
        print(f"  {name:<5} n={len(result.latencies):<4} {spread(result.latencies)}   "
              f"mean {statistics.fmean(result.latencies or [0]):.1f} ms   (to the source)")
        if result.claimed:
            print(f"        {'':<5} {spread(result.claimed)}   (to procrastinate's "
                  "\"Starting job\" log line, ms resolution)")
        print(f"        {label}" + (f"; {'; '.join(notes)}" if notes else ""))
    if bot.latencies and floor.latencies:
        ratios = [percentile(bot.latencies, share) / percentile(floor.latencies, share)
                  for share in (.5, .99)]
        print(f"  ratio bot/floor: p50 {ratios[0]:.1f}x, p99 {ratios[1]:.1f}x")


# ---------------------------------------------------------------------------- 2. scale

@dataclass
class ScaleResult:
    workers: int
    seconds: float
    tick_start: float | None  # s after the deferral: the tick's job started
    tick_end: float | None  # s after the deferral: the tick had deferred every pull
    first_hit: float
    cores: dict[str, float]
    duplicates: int
    activity: Activity
    analyzed: float | None  # s after the deferral: procrastinate_jobs was analyzed
    floor: float = 0.0


def floor_pulls(source: Source, paths: Sequence[str], concurrency: int, info: str) -> float:
    """Seconds for the same GETs from a thread pool of httpx clients (one per thread)
    and one executemany INSERT of the values."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def get(path: str) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=source.url, timeout=30)
            clients.append(client)
        return float(client.get(path).json()["value"])

    with psycopg.connect(info) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_samples (metric_id bigint, "
                     "observed_at timestamptz, value float8)")
        conn.commit()
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            values = list(pool.map(get, paths))
        at = now()
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_samples VALUES (%s, %s, %s)",
                               [(n, at, value) for n, value in enumerate(values)])
        conn.commit()
        elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return elapsed


def tick(queue: PostgresQueue) -> None:
    """Defer `pulls.due` as the minute's periodic deferral does (one waiting at a time)."""
    queue.defer(PULLS_DUE, {}, queue=Queue.SCHEDULE, queueing_lock=f"periodic:{PULLS_DUE}")


class Activity:
    """What PostgreSQL's backends of one database are busy with: ``pg_stat_activity``
    sampled every 50 ms on a thread, each active query named by the procrastinate
    function it calls or its first words."""

    def __init__(self, info: str) -> None:
        self.info = info
        self.samples = 0
        self.seen: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-activity", daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.info, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                self.samples += 1
                for (query,) in conn.execute(
                        "SELECT query FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state = 'active' AND pid <> pg_backend_pid()"):
                    self.seen[self.name(query)] += 1

    @staticmethod
    def name(query: str) -> str:
        function = re.search(r"procrastinate_\w+(?=\()", query)
        if function:
            return function[0]
        return " ".join(query.split())[:48]

    def __enter__(self) -> Activity:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def top(self) -> tuple[str, float] | None:
        """The query most often active, and its share of the active ones."""
        if not self.seen:
            return None
        name, count = self.seen.most_common(1)[0]
        return name, count / sum(self.seen.values())

    def describe(self, top: int = 3) -> str:
        if not self.samples:
            return "no samples"
        active = sum(self.seen.values())
        busiest = ", ".join(f"{name} {count / max(active, 1):.0%}"
                            for name, count in self.seen.most_common(top))
        return (f"PostgreSQL: {active / self.samples:.1f} queries active on average; of "
                f"them {busiest}")


def analyze_after_tick(db: Database, processes: Sequence[BotProcess], after: float) -> None:
    """Once the tick has deferred its pulls: ANALYZE procrastinate_jobs (the fix proposed
    for its fetch plan), on a thread."""

    def run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log_times(processes, "metric(s) due: deferred their pulls", after):
                with psycopg.connect(conninfo(db.url), autocommit=True) as conn:
                    conn.execute("ANALYZE procrastinate_jobs")
                return
            time.sleep(0.05)

    threading.Thread(target=run, name="bench-analyze", daemon=True).start()


def last_analyzed(db: Database) -> float | None:
    """When procrastinate_jobs was last analyzed (by autovacuum or ANALYZE), or None."""
    with psycopg.connect(conninfo(db.url), autocommit=True) as conn:
        row = conn.execute("SELECT greatest(last_autoanalyze, last_analyze) FROM "
                           "pg_stat_user_tables WHERE relname = 'procrastinate_jobs'").fetchone()
    return row[0].timestamp() if row and row[0] else None


def scale_once(bench: Bench, workers: int, metrics: int, latency: int, tag: str, *,
               analyze: bool) -> ScaleResult:
    with bench.database(f"scale_{workers}") as db:
        seed_fleet(db.sessions)
        processes = bench.start_workers(db, workers, tag)
        queue = PostgresQueue(db.url, db.sessions)
        tick(queue)  # nothing due yet: opens this process's pool, wakes the schedule worker
        wait_until(lambda: startup_tick_done(db.engine), "a first tick", processes)
        paths = [Source.path(latency, tag, n) for n in range(metrics)]
        seed_pulled(db.sessions, paths, bench.every)
        meter = bench.meter({"workers": processes})
        with Activity(conninfo(db.url)) as activity:
            before = meter.sample()
            started = time.time()
            tick(queue)
            if analyze:
                analyze_after_tick(db, processes, started)
            wait_until(lambda: samples(db.engine) >= metrics, f"{metrics} metrics pulled",
                       processes, timeout=900, interval=0.2)
            seconds = time.time() - started
            after = meter.sample()
        analyzed = last_analyzed(db)
        assert metrics_pulled(db.engine) == metrics, "a metric was pulled twice"
        queue.close()
        stop_all(processes)
        ticks = log_times(processes, f"Starting job {PULLS_DUE}[", started)
        deferred = log_times(processes, "metric(s) due: deferred their pulls", started)
        bench.source.refresh()
        first = min(bench.source.first_hit[path] for path in paths)
        duplicates = sum(bench.source.hit_count[path] - 1 for path in paths)
        result = ScaleResult(workers, seconds, ticks[0] - started if ticks else None,
                             deferred[0] - started if deferred else None, first - started,
                             CpuMeter.cores(before, after), duplicates, activity,
                             analyzed - started if analyzed and analyzed >= started else None)
        floor_paths = [Source.path(latency, f"{tag}f", n) for n in range(metrics)]
        result.floor = floor_pulls(bench.source, floor_paths, workers * PULLS_THREADS,
                                   conninfo(db.url))
    return result


def bound_by(result: ScaleResult, metrics: int, latency: int) -> list[str]:
    """What held this run back, from its CPU use and the source's latency."""
    latency_bound = metrics * latency / 1000 / (result.workers * PULLS_THREADS)
    cores = result.cores
    machine = cores["machine"]
    ours = sum(value for name, value in cores.items() if name != "machine")
    per_pull = {name: cores[name] * result.seconds / metrics * 1000
                for name in ("workers", "postgres")}
    ceiling = CORES / (sum(per_pull.values()) / 1000)
    lines = [f"CPU per pull: workers {per_pull['workers']:.1f} ms, PostgreSQL "
             f"{per_pull['postgres']:.1f} ms: {CORES} cores can do at most {ceiling:.0f} "
             f"pulls/s; the source's latency allows {metrics / latency_bound:.0f}/s "
             f"({latency_bound:.1f} s)"]
    if machine >= 0.85 * CORES:
        lines.append(f"bound: CPU (the machine {machine / CORES:.0%} busy, ours "
                     f"{ours:.2f} cores, other work {machine - ours:.2f})")
    elif cores["workers"] >= 0.8 * result.workers:
        lines.append(f"bound: the worker processes' interpreters ({cores['workers']:.2f} "
                     f"cores for {result.workers} process(es): one each at most)")
    elif result.seconds <= 1.3 * latency_bound:
        lines.append("bound: the source's latency")
    else:
        top = result.activity.top()
        lines.append(f"bound: neither CPU ({machine:.2f} of {CORES} cores) nor the source: "
                     "waiting on PostgreSQL" + (f" (busiest: {top[0]}, {top[1]:.0%} of its "
                                                "active queries)" if top else ""))
    return lines


def part_scale(bench: Bench, options: argparse.Namespace) -> None:
    counts = [int(part) for part in options.workers.split(",") if part.strip()]
    print(f"\n2. pulls per second: {options.metrics} due metrics, source latency "
          f"{options.latency} ms, {PULLS_THREADS} pulls threads per worker "
          f"(OUTCOME_WORKER_THREADS={WORKER_THREADS}); timed from the deferral of "
          "`pulls.due` (the workers up and idle) to the last metric's sample"
          + ("; procrastinate_jobs ANALYZEd once the tick has deferred (--analyze)"
             if options.analyze else ""), flush=True)
    results = []
    for count in counts:
        result = scale_once(bench, count, options.metrics, options.latency,
                            f"s{count}r{options.run}", analyze=options.analyze)
        results.append(result)
        rate = options.metrics / result.seconds
        base = options.metrics / results[0].seconds
        print(f"  N={count}: {result.seconds:6.2f} s, {rate:6.1f} pulls/s, speed-up "
              f"{rate / base:.2f}x (linear: {count / counts[0]:.0f}x); floor "
              f"{result.floor:.2f} s ({options.metrics / result.floor:.0f}/s at concurrency "
              f"{count * PULLS_THREADS}): ratio {result.seconds / result.floor:.1f}x",
              flush=True)
        timings = [f"first read {result.first_hit:.2f} s"]
        if result.tick_start is not None:
            timings.insert(0, f"the tick started {result.tick_start:.2f} s")
        if result.tick_end is not None:
            timings.append(f"every pull deferred {result.tick_end:.2f} s")
        print(f"       {', '.join(timings)} after the deferral; duplicate reads "
              f"{result.duplicates}")
        print(f"       {CpuMeter.describe(result.cores)}")
        print(f"       {result.activity.describe()}; procrastinate_jobs "
              + (f"analyzed {result.analyzed:.1f} s after the deferral"
                 if result.analyzed is not None else "not analyzed during the run"))
        for line in bound_by(result, options.metrics, options.latency):
            print(f"       {line}")
    rates = [options.metrics / result.seconds for result in results]
    print("  pulls/s by worker processes: " + ", ".join(
        f"N={result.workers} {rate:.1f} ({rate / rates[0]:.2f}x)"
        for result, rate in zip(results, rates, strict=True)))


# ---------------------------------------------------------------------------- 3. ack

def send_commands(bot_url: str, response_base: str, texts: list[str], rate: float,
                  concurrency: int) -> tuple[list[tuple[int, str, float]], int]:
    """In the load generator's process: send ``texts`` at ``rate`` per second, at most
    ``concurrency`` in flight; (status, body, seconds) of each, and how many were sent
    late because ``concurrency`` were in flight."""
    slots = threading.Semaphore(concurrency)
    late = 0

    def send(index: int, text_: str) -> tuple[int, str, float]:
        try:
            result = command_request(bot_url, f"{response_base}-{index}", text_)
            return result.status, result.body, result.seconds
        except OSError as exc:
            return 0, repr(exc), 30.0
        finally:
            slots.release()

    futures = []
    with ThreadPoolExecutor(concurrency) as pool:
        started = time.monotonic()
        for index, text_ in enumerate(texts):
            wait = started + index / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not slots.acquire(blocking=False):
                late += 1
                slots.acquire()
            futures.append(pool.submit(send, index, text_))
        return [future.result() for future in futures], late


@dataclass
class AckResult:
    acks: list[float]
    wrong: list[str]
    late: int
    cores: dict[str, float] = field(default_factory=dict)


def run_commands(generator: ProcessPoolExecutor, bench: Bench, web: BotProcess, name: str,
                 first: int, count: int, rate: float) -> AckResult:
    texts = [f"record {RECORD_METRIC} {first + n}" for n in range(count)]
    results, late = generator.submit(send_commands, web.url, bench.slack.response_url(name),
                                     texts, rate, ACK_CONCURRENCY).result()
    wrong = [f"{status} {body[:100]!r}" for status, body, _ in results
             if (status, body) != (200, "")]
    return AckResult([seconds * 1000 for _, _, seconds in results], wrong, late)


def part_ack(bench: Bench, options: argparse.Namespace) -> None:
    print(f"\n3. ack latency: {options.commands} signed `/outcome record` at "
          f"{options.rate:g}/s (at most {ACK_CONCURRENCY} in flight) to one `serve` process, "
          f"with no worker, then with 2 workers pulling a backlog of {options.backlog} due "
          f"metrics (source latency {options.latency} ms)"
          + ("; procrastinate_jobs ANALYZEd once the tick has deferred (--analyze)"
             if options.analyze else ""), flush=True)
    with ExitStack() as stack:
        db = stack.enter_context(bench.database("ack"))
        seed_manual(db.sessions)
        seed_fleet(db.sessions)
        web = bench.launcher.start("serve", bench.environment(db.url, PORT=free_port()),
                                   name=f"ack{options.run}-serve")
        stack.callback(stop_all, [web])
        web.wait_healthy()
        for n in range(3):  # bolt's first auth.test, the first defer, imports
            web.command(f"record {RECORD_METRIC} {n}", bench.slack.response_url(f"warm{n}"))
        generator = stack.enter_context(ProcessPoolExecutor(1, mp_context=SPAWN))
        generator.submit(time.sleep, 0).result()  # started before the clock runs

        floor = run_commands(generator, bench, web, f"floor{options.run}", 1000,
                             options.commands, options.rate)

        paths = [Source.path(options.latency, f"a{options.run}", n)
                 for n in range(options.backlog)]
        seed_pulled(db.sessions, paths, bench.every)
        # Their start-up tick defers a pull per metric (the backlog) while they run.
        workers = bench.start_workers(db, 2, f"ack{options.run}", idle=False)
        stack.callback(stop_all, workers)
        if options.analyze:
            analyze_after_tick(db, workers, 0)
        stored_floor = 3 + options.commands
        wait_until(lambda: records_stored(db.engine) >= stored_floor
                   and pulls_waiting(db.engine) > 0, "the floor's records done and pulls "
                   "waiting", [web, *workers], timeout=300, interval=0.1)
        meter = bench.meter({"workers": workers, "serve": [web]})
        pulled_before = metrics_pulled(db.engine)
        with Activity(conninfo(db.url)) as activity:
            before = meter.sample()
            loaded_at = time.time()
            loaded = run_commands(generator, bench, web, f"loaded{options.run}", 5000,
                                  options.commands, options.rate)
            after = meter.sample()
        waiting_after = pulls_waiting(db.engine)
        ticking = ticks_running(db.engine)
        analyzed = last_analyzed(db)
        pulled = metrics_pulled(db.engine) - pulled_before
        loaded.cores = CpuMeter.cores(before, after)
        expected = stored_floor + options.commands
        wait_until(lambda: records_stored(db.engine) >= expected, "every record stored",
                   [web, *workers], timeout=300, interval=0.25)
        stored = records_stored(db.engine) - 3
    tick_start = log_times(workers, f"Starting job {PULLS_DUE}[", 0)
    tick_end = log_times(workers, "metric(s) due: deferred their pulls", 0)

    for name, result in (("no workers (floor)", floor), ("2 workers saturated", loaded)):
        print(f"  {name:<20} n={len(result.acks):<4} {spread(result.acks)}")
        if result.wrong or result.late:
            print(f"       {len(result.wrong)} unexpected acks {result.wrong[:3]}; "
                  f"{result.late} sent late ({ACK_CONCURRENCY} in flight)")
    print(f"  while the commands ran: {pulled} metrics pulled, {waiting_after} pulls still "
          f"waiting at the end ({'saturated throughout' if waiting_after else 'backlog ran out'})"
          + (f"; {ticking} `pulls.due` tick(s) still deferring pulls" if ticking else ""))
    if tick_start and tick_end:
        print(f"       the workers' start-up tick deferred the backlog in "
              f"{tick_end[0] - tick_start[0]:.1f} s")
    print(f"       {CpuMeter.describe(loaded.cores)}")
    print(f"       {activity.describe()}; procrastinate_jobs " + (
        "not analyzed since the backlog was deferred" if analyzed is None or not tick_end
        or analyzed < tick_end[0] else
        f"analyzed {analyzed - loaded_at:+.1f} s from the start of the loaded commands"))
    p99 = percentile(loaded.acks, .99)
    print(f"  goal ack p99 <= {GOAL_MS:.0f} ms while saturated: "
          f"{'met' if p99 <= GOAL_MS else 'NOT met'} ({p99:.0f} ms; floor "
          f"{percentile(floor.acks, .99):.0f} ms, ratio {p99 / percentile(floor.acks, .99):.1f}x)")
    print(f"  records stored: {stored} of {2 * options.commands}")


# ---------------------------------------------------------------------------- main

FETCH = ("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['pulls'], "
         "(SELECT id FROM procrastinate_workers LIMIT 1))")


def fetch_ms(db: Database, times: int = 20) -> float:
    """Median ms of procrastinate's fetch of the next pull, each rolled back (the queue
    stays as it is)."""
    spent = []
    for _ in range(times):
        with db.engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(text(FETCH)).all()
            spent.append((time.perf_counter() - started) * 1000)
            connection.rollback()
    return statistics.median(spent)


def part_fetch(bench: Bench, options: argparse.Namespace) -> None:
    print("\n== fetch: one fetch of a pull from a queue the minute's tick just filled ==")
    for waiting in (options.metrics, options.metrics * 4):
        with bench.database(f"fetch{waiting}", revision="0010") as db:
            with db.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, "
                    "queueing_lock, args, status) SELECT 'pulls', 'pulls.metric', "
                    "'metric:' || n, 'metric:' || n, jsonb_build_object('metric_id', n), "
                    "'todo' FROM generate_series(1, :waiting) AS n"), {"waiting": waiting})
                connection.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
            before = fetch_ms(db)
            upgrade(db.engine)  # 0011: the index on (lock, priority, id)
            after = fetch_ms(db)
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE procrastinate_jobs"))
            floor = fetch_ms(db)
        print(f"{waiting} pulls waiting, no statistics yet: {before:.1f} ms without the lock "
              f"index (0010), {after:.1f} ms with it (0011); floor, the same fetch once "
              f"ANALYZE has run: {floor:.1f} ms; ratio {after / floor:.1f}x", flush=True)
    redefer_waiting(bench, options.metrics)


def redefer_waiting(bench: Bench, waiting: int) -> None:
    """The next minute's tick while every pull it defers still waits from the last."""
    batch = [Deferral({"metric_id": n}, lock=metric_lock(n), queueing_lock=metric_lock(n))
             for n in range(1, waiting + 1)]
    with bench.database("redefer") as db:
        queue = PostgresQueue(db.url, db.sessions)
        try:
            queue.defer_many(PULL_METRIC, batch, queue=Queue.PULLS)
            started = time.perf_counter()
            stored = queue.defer_many(PULL_METRIC, batch, queue=Queue.PULLS)
            spent = (time.perf_counter() - started) * 1000
        finally:
            queue.close()
        locks = [item.queueing_lock for item in batch]
        with db.engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(text("SELECT queueing_lock FROM procrastinate_jobs WHERE "
                                    "status = 'todo' AND queueing_lock = ANY(:locks)"),
                               {"locks": locks}).all()
            floor = (time.perf_counter() - started) * 1000
    print(f"a tick deferring {waiting} pulls that all still wait: {stored} stored in "
          f"{spent:.1f} ms; floor, the query for waiting queueing locks alone: {floor:.1f} ms;"
          f" ratio {spent / floor:.1f}x", flush=True)


PARTS = {"latency": part_latency, "scale": part_scale, "ack": part_ack, "fetch": part_fetch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--tasks", type=int, default=500, help="latency: tasks deferred")
    parser.add_argument("--interval", type=float, default=50.0,
                        help="latency: ms between deferrals")
    parser.add_argument("--metrics", type=int, default=2000, help="scale: due metrics")
    parser.add_argument("--workers", default="1,2,4", help="scale: worker process counts")
    parser.add_argument("--latency", type=int, default=20, help="scale, ack: source ms")
    parser.add_argument("--commands", type=int, default=300, help="ack: commands per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="ack: commands per second")
    parser.add_argument("--backlog", type=int, default=3000, help="ack: due metrics")
    parser.add_argument("--analyze", action="store_true",
                        help="scale, ack: ANALYZE procrastinate_jobs once the tick has "
                             "deferred its pulls (what the proposed fix would do)")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the bot processes' logs (their folder is printed)")
    options = parser.parse_args()
    options.run = int(time.time()) % 100000  # tags this run's source paths
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("No PostgreSQL server binaries found.")
    started = time.perf_counter()
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
        if not options.keep_logs:
            stack.callback(shutil.rmtree, folder, True)
        cluster = PostgresCluster.start(bindir)
        stack.callback(cluster.stop)
        slack = stack.enter_context(FakeSlack())
        slack.add_user(PO, "ana")
        slack.add_user(ENG, "eli")
        source = Source().start()
        stack.callback(source.stop)
        launcher = Launcher(folder / "logs")
        stack.callback(launcher.stop_all)
        bench = Bench(cluster, slack, source, launcher, folder)
        print("$ python " + " ".join(sys.argv))
        print(f"PostgreSQL {bindir.parent.name} (throwaway cluster, fsync off); {CORES} cores; "
              f"logs in {folder / 'logs'}"
              + ("" if options.keep_logs else " (deleted at the end)"), flush=True)
        for name, part in PARTS.items():
            if options.part in (name, "all"):
                part(bench, options)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
