"""200 channels' digests, with charts, against a fake Slack that enforces chat.postMessage's
one message per second per channel.

    python bench/digests.py [--channels 200] [--concurrency 16]

Prints the total time, charts per second, peak memory, the digests posted (each must be
posted once) and the 429s our own pacing caused (must be 0); then the two bounds the total
is judged against: the rate-limit bound (messages per channel, one a second, channels in
parallel) and rendering every chart on both cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from digest_setup import (  # noqa: E402
    FIRE,
    digests_by_key,
    parts_by_key,
    seed_channels,
    slack_poster,
)
from fake_slack import FakeSlack  # noqa: E402

from bot.app.digests import DigestRunner  # noqa: E402
from bot.app.review_builder import build_review  # noqa: E402
from bot.render.charts import initiative_chart  # noqa: E402
from bot.storage.db import make_engine, session_factory, upgrade  # noqa: E402


def chart_seconds(sessions) -> float:
    """Median time to render one digest's chart here."""
    from bot.core.periods import PeriodSpec

    with sessions() as session:
        review = build_review(session, "T1", PeriodSpec("this_sprint"), FIRE)
    initiative = review.initiatives[0]
    initiative_chart(initiative)
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        initiative_chart(initiative)
        timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FakeSlack() as slack:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        sessions = session_factory(engine)
        seed_channels(sessions, options.channels)
        slack.limit_posts_per_channel(1.0)
        poster = slack_poster(slack.api_url)  # paced one message a second per channel
        runner = DigestRunner(sessions, lambda workspace: poster, worker="bench",
                              concurrency=options.concurrency)
        started = time.perf_counter()
        result = runner.tick(FIRE)
        elapsed = time.perf_counter() - started
        posted = digests_by_key(slack)
        once = all(len(messages) == 1 for messages in posted.values())
        parts = parts_by_key(slack)
        per_chart = chart_seconds(sessions)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        messages_per_channel = 2  # the headline and the thread reply
        rate_bound = messages_per_channel - 1  # seconds: channels post in parallel
        render_bound = options.channels * per_chart / 2
        bound = max(rate_bound, render_bound)
        print(f"{len(result.posted)} digests posted in {elapsed:.1f} s "
              f"({options.channels / elapsed:.1f} charts/s); peak memory {peak_mb:.0f} MB, "
              f"largest chart worker {worker_mb:.0f} MB")
        print(f"headlines: {len(posted)} (each once: {once}); complete thread replies: "
              f"{len(parts)}; 429s from our own pacing: {slack.pacing_429s}; failed: "
              f"{len(result.failed)}")
        print(f"bounds: rate limit {rate_bound:.1f} s; rendering {options.channels} charts "
              f"at {per_chart * 1000:.0f} ms on 2 cores {render_bound:.1f} s; total / slower "
              f"bound = {elapsed / bound:.2f} (goal: within 1.5)")
        engine.dispose()


if __name__ == "__main__":
    main()
