"""`outcome demo`: build the demo workspace, review it and write every rendering."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot import wiring
from bot.app.demo import run_demo
from bot.cli.moments import parse_now
from bot.core.errors import ConfigError
from bot.core.periods import PeriodSpec, parse_period
from bot.core.settings import Settings
from bot.render.text import review_terminal
from bot.storage import db


def main(args: list[str], settings: Settings) -> int:
    """Run `outcome demo` with its arguments; returns the exit code."""
    parser = argparse.ArgumentParser(prog="outcome demo",
                                     description="Build the demo workspace and review it.")
    parser.add_argument("--out", default="outcome-demo", help="output folder")
    parser.add_argument("--period", default="this sprint", help="e.g. 'last sprint'")
    parser.add_argument("--now", help="pretend the current time is this ISO date-time")
    options = parser.parse_args(args)
    if not settings.outcome_demo_data:
        raise ConfigError("OUTCOME_DEMO_DATA is off, so `outcome demo` will not create data.")
    period: PeriodSpec = parse_period(options.period.split())
    started = time.perf_counter()
    engine = wiring.open_database(settings)
    result = run_demo(db.session_factory(engine), settings.outcome_workspace,
                      Path(options.out), parse_now(options.now), period)
    elapsed = time.perf_counter() - started
    print(review_terminal(result.review, color=sys.stdout.isatty()))
    created = ", ".join(result.created) or "none (already there)"
    print(f"\nDemo initiatives created: {created}; samples added: {result.samples_added}.")
    print(f"Wrote {len(result.files)} files to {Path(options.out).resolve()}:")
    for path in result.files:
        print(f"  {path.name}")
    print(f"Done in {elapsed:.1f} s. Open {Path(options.out) / 'review.html'} for the charts.")
    return 0
