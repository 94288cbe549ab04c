"""Channels' digests, with charts, posted by the task workers (as `outcome worker` and
`outcome run` do) against a fake Slack that enforces chat.postMessage's one message per
second per channel.

    python bench/digests.py [--channels 1000] [--threads 4] [--whole]

Prints the total time from the tick to the last thread reply, the digests posted (each
must be posted once) and the 429s our own pacing caused (must be 0); then the bounds the
total is judged against: the rate-limit bound (two messages per channel, one a second,
channels in parallel) and the render bound (every chart drawn on both cores, the honest
floor: the same charts drawn the simplest fast way, one process per core, no Slack at all).
``--whole`` runs the older path instead (DigestRunner.tick: whole digests on 16 threads
that sleep out each channel's pace) for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from digest_setup import (  # noqa: E402
    FIRE,
    MovingClock,
    clone_channels,
    digests_by_key,
    parts_by_key,
    seed_channels,
    slack_poster,
)
from fake_slack import TEAM, FakeSlack  # noqa: E402

from bot.app.digests import DigestRunner  # noqa: E402
from bot.app.review_builder import build_review  # noqa: E402
from bot.clock import add_scheduled_tasks  # noqa: E402
from bot.core.kinds import Queue  # noqa: E402
from bot.core.periods import PeriodSpec  # noqa: E402
from bot.render.pool import chart_files  # noqa: E402
from bot.storage.db import make_engine, session_factory, upgrade  # noqa: E402
from bot.tasks.local import LocalQueue  # noqa: E402
from bot.tasks.spec import Registry  # noqa: E402
from bot.tasks.worker import LocalWorker  # noqa: E402
from metrics.pulling import Puller  # noqa: E402
from metrics.resources import open_resources  # noqa: E402


def render_bound(sessions, channels: int) -> float:
    """Seconds to draw ``channels`` digest charts on every core, and nothing else."""
    with sessions() as session:
        review = build_review(session, TEAM, PeriodSpec("this_sprint"), FIRE)
    initiative = review.initiatives[0]
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(chart_files, [initiative] * cores))  # warm up: imports, fonts
        started = time.perf_counter()
        list(pool.map(chart_files, [initiative] * channels, chunksize=8))
        return time.perf_counter() - started


def run_tasks(sessions, poster, channels: int, threads: int) -> float:
    clock = MovingClock(FIRE)
    queue = LocalQueue(sessions, clock)
    registry = Registry()
    add_scheduled_tasks(registry, queue, Puller(sessions, open_resources(), clock=clock),
                        lambda workspace: poster, sessions)
    worker = LocalWorker(queue, registry, name="bench", poll=0.2,
                         threads={Queue.SCHEDULE: 1, Queue.DIGESTS: threads})
    return timed(worker.start, worker.stop, poster, channels)


def run_whole(sessions, poster, channels: int) -> float:
    runner = DigestRunner(sessions, lambda workspace: poster, worker="bench")
    return timed(lambda: runner.tick(FIRE), lambda: None, poster, channels)


def timed(start, stop, poster, channels: int) -> float:
    """Seconds from ``start()`` to the last thread reply; prints where the CPU went."""
    slack = poster.slack
    finished = PartsCounter(slack)
    cpu_before = time.process_time()
    started = time.perf_counter()
    start()
    slack.wait_for(lambda: finished() >= channels, timeout=3600)
    elapsed = time.perf_counter() - started
    charts_cpu = sum(cpu_seconds(child.pid) for child in multiprocessing.active_children())
    print(f"CPU: {time.process_time() - cpu_before:.1f} s in this process (the bot's "
          f"workers and the fake Slack), {charts_cpu:.1f} s in the chart workers")
    stop()
    return elapsed


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PartsCounter:
    """How many thread replies completing an initiative the fake Slack holds, read from
    the messages that arrived since the last call (a scan of all of them on every
    wake-up would cost the bot CPU it is being timed on)."""

    def __init__(self, slack) -> None:
        self.slack, self.seen, self.parts = slack, 0, 0

    def __call__(self) -> int:
        messages = self.slack.messages
        for message in messages[self.seen:]:
            if (message.metadata or {}).get("event_type") == "outcome_digest_part":
                self.parts += 1
        self.seen = len(messages)
        return self.parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4,
                        help="threads of the digests queue (OUTCOME_WORKER_THREADS)")
    parser.add_argument("--whole", action="store_true",
                        help="the older path: whole digests on 16 sleeping threads")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FakeSlack() as slack:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        sessions = session_factory(engine)
        seed_channels(sessions, 1)
        clone_channels(sessions, options.channels - 1, TEAM, "bench")
        slack.limit_posts_per_channel(1.0)
        poster = slack_poster(slack.api_url)
        poster.slack = slack
        if options.whole:
            elapsed = run_whole(sessions, poster, options.channels)
            how = "whole digests, 16 threads"
        else:
            elapsed = run_tasks(sessions, poster, options.channels, options.threads)
            how = f"tasks, {options.threads} digest threads"
        posted, parts = digests_by_key(slack), parts_by_key(slack)
        once = all(len(m) == 1 for m in posted.values()) and all(
            len(m) == 1 for m in parts.values())
        bound = render_bound(sessions, options.channels)
        rate = 1.0  # headline, then its thread reply a second later; channels in parallel
        floor = max(rate, bound)
        print(f"{len(posted)} digests ({how}) in {elapsed:.1f} s; each headline and thread "
              f"reply once: {once}; 429s from our own pacing: {slack.pacing_429s}")
        print(f"floor: drawing the {options.channels} charts alone on {os.cpu_count()} "
              f"cores {bound:.1f} s (rate-limit bound {rate:.1f} s); ratio "
              f"{elapsed / floor:.2f} (goal: within 1.3)")
        engine.dispose()


if __name__ == "__main__":
    main()
