"""A clock process for the multi-process digest tests: ticks a DigestRunner against a real
database and the fake Slack. Every process shares one simulated clock: it read START_ISO
at the real instant EPOCH and runs SPEED times faster than real time.

    python tests/clock_process.py DATABASE_URL SLACK_API_URL WORKER START_ISO EPOCH SPEED \
        SECONDS
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from digest_setup import slack_poster, slack_runner

from bot.storage.db import make_engine, session_factory


def main() -> None:
    url, api_url, worker, start, epoch, speed, seconds = sys.argv[1:8]
    sessions = session_factory(make_engine(url))
    runner = slack_runner(sessions, slack_poster(api_url, pace=0.5), worker)
    start_at, began = datetime.fromisoformat(start), float(epoch)
    until = time.time() + float(seconds)
    while time.time() < until:
        now = start_at + timedelta(seconds=(time.time() - began) * float(speed))
        for key in runner.tick(now).posted:
            print(f"{worker} posted {key}", flush=True)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
