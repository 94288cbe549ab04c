"""Ack time of `/outcome review` while charts render, through the real HTTP endpoint.

    python bench/ack_review.py [--requests 300] [--interval 0.05]

Starts the fake Slack Web API (tests/fake_slack.py) and the bot's HTTP server in this
process, seeds the demo workspace (2 initiatives, 5 metrics, months of history), then sends
signed `/outcome review` commands one after another. Every review renders and uploads its
charts after the ack, in the same process, so from the second request on each ack competes
with chart rendering for the CPU and the GIL. Prints p50/p90/p99/max of the ack time, and
how many acks were measured while a chart was being drawn. Slack's limit is 3000 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_slack import TEAM, FakeSlack
from slack_helpers import migrated_engine, start_bot, stop_bot, token_config

from bot.app.demo import seed_demo
from bot.render.pool import charts_in_progress
from bot.storage.db import session_factory


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between requests")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, FakeSlack() as slack:
        engine = migrated_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        seed_demo(session_factory(engine), TEAM, datetime.now(UTC))
        bot = start_bot(slack, engine, token_config(slack))
        bot.command("review")  # warm up: imports matplotlib, first auth.test
        slack.wait_for(lambda: slack.ok_calls_to("files.completeUploadExternal"), 60)

        acks: list[float] = []
        during_render = 0
        started = time.perf_counter()
        for _ in range(options.requests):
            rendering = charts_in_progress()
            result = bot.command("review")
            if result.status != 200 or "Building the review" not in result.text:
                print(f"unexpected ack: {result.status} {result.body[:200]}")
                return 1
            acks.append(result.seconds * 1000)
            during_render += rendering or charts_in_progress()
            time.sleep(options.interval)
        sending = time.perf_counter() - started
        uploads = len(slack.ok_calls_to("files.completeUploadExternal"))
        queued = sum(count for (_, state), count in bot.runtime.queue.counts().items()
                     if state == "todo")
        bot.runtime.drain(timeout=0)  # skip the backlog: it stays queued in the temporary file
        stop_bot(bot)
        engine.dispose()

    print(f"/outcome review acks over {len(acks)} requests in {sending:.1f} s "
          f"({during_render} measured while a chart was rendering):")
    print(f"  p50 {percentile(acks, 0.50):.1f} ms   p90 {percentile(acks, 0.90):.1f} ms   "
          f"p99 {percentile(acks, 0.99):.1f} ms   max {max(acks):.1f} ms   "
          f"mean {statistics.fmean(acks):.1f} ms")
    print(f"  chart uploads while sending: {uploads}; reviews still queued at the end: "
          f"{queued} (the worker posts them in order; acks do not wait for them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
