"""The `outcome push` and `outcome backfill` verbs (the CLI dispatches to these)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TextIO

import httpx

from bot import wiring
from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.push import store_pushed
from bot.app.services import find_initiative, find_metric
from bot.core import values
from bot.core.clock import system_clock
from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.grammar.commands import parse_duration, parse_reference
from bot.storage import db
from metrics.jobs import PullJob
from metrics.pulling import Puller
from metrics.push import PushedValue, send_push


def _moment(text: str | None, name: str, default: datetime) -> datetime:
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name} must be an ISO date or date-time, e.g. 2026-10-01 "
                         f"(got {text!r}).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines elsewhere."""

    def __init__(self, label: str, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.label, self.out, self.width = label, out, width
        self.tty = out.isatty()

    def __call__(self, done: int, total: int, stored: int) -> None:
        share = done / total if total else 1.0
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.label} [{bar}] {share:4.0%} {done}/{total} chunks, {stored:,} new values"
        if self.tty:
            self.out.write("\r" + line + ("\n" if done == total else ""))
        elif done == total or done == 0:
            self.out.write(line + "\n")
        self.out.flush()


def backfill_main(args: list[str], settings: Settings) -> int:

    usage = "outcome backfill <initiative>.<metric> --since DATE [--until DATE] [--step 1h]"
    parser = argparse.ArgumentParser(
        prog="outcome backfill",
        description="Read a metric's history from its source (Prometheus range queries, "
                    "a dated CSV) and store it; values already stored are kept.")
    parser.add_argument("metric", help="<initiative>.<metric>")
    parser.add_argument("--since", required=True, help="first date, e.g. 2026-09-01")
    parser.add_argument("--until", help="last date-time (default: now)")
    parser.add_argument("--step", default="1h", help="spacing of the values (default 1h)")
    parser.add_argument("--set-baseline", action="store_true",
                        help="also make the value at --since the metric's baseline "
                             "(a change to agreed criteria reopens them)")
    options = parser.parse_args(args)
    initiative_key, metric_key = parse_reference(options.metric, usage)
    now = system_clock()
    since = _moment(options.since, "--since", now)
    until = _moment(options.until, "--until", now)
    step = parse_duration(options.step, "--step")
    if since >= until:
        raise UsageError("--since must be before --until (and in the past).", usage)
    sessions = db.session_factory(wiring.open_database(settings))
    actor = Actor(settings.outcome_workspace, settings.cli_user, operator=True)
    with db.transaction(sessions) as session:
        metric = find_metric(find_initiative(session, actor.workspace, initiative_key),
                             metric_key)
        job = PullJob.of(metric)
    resources = wiring.source_resources(settings)
    try:
        puller = Puller(sessions, resources, clock=system_clock)
        outcome = puller.backfill(job, since, until, step=step,
                                  progress=ProgressBar(job.name))
        if not outcome.ok:
            kind = "fix the source config" if outcome.permanent else "try again later"
            print(f"Backfill of {job.name} stopped: {outcome.error} ({kind}). "
                  f"{outcome.stored:,} values were stored before that.", file=sys.stderr)
            return 1
        print(f"Backfilled {job.name} from {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} "
              f"UTC: {outcome.stored:,} new values in {outcome.duration_ms / 1000:.1f} s.")
        if options.set_baseline:
            value = puller.value_at(job, since)
            with db.transaction(sessions) as session:
                define_metric(session, actor, initiative_key, metric_key,
                              {"baseline_value": value, "baseline_at": since}, now=now)
            print(f"Baseline of {job.name} set to {value:g} as of {since:%Y-%m-%d %H:%M} UTC.")
    finally:
        resources.close()
    return 0


def push_main(args: list[str], settings: Settings) -> int:
    usage = "outcome push <initiative>.<metric> <value> [--at TIME] [--segment label=value]"
    parser = argparse.ArgumentParser(
        prog="outcome push",
        description="Send a metric value from a pipeline: to a server's push endpoint with "
                    "--url (or OUTCOME_PUSH_URL) and the token in OUTCOME_PUSH_TOKEN, else "
                    "straight into the configured database. Repeating a push is harmless.")
    parser.add_argument("metric", help="<initiative>.<metric>")
    parser.add_argument("value", help="the number")
    parser.add_argument("--at", help="when it was observed (default: now)")
    parser.add_argument("--segment", default="", help="e.g. region=EU")
    parser.add_argument("--url", default=settings.outcome_push_url,
                        help="base URL of the Outcomes server")
    options = parser.parse_args(args)
    initiative, metric = parse_reference(options.metric, usage)
    try:
        value = values.parse_number(options.value)
    except ValueError as exc:
        raise UsageError(f"The value {exc}.", usage) from None
    # The time is fixed here, once, so every retry of this push is the same sample.
    at = _moment(options.at, "--at", system_clock().replace(microsecond=0))
    pushed = PushedValue(initiative, metric, value, at, options.segment)
    if options.url:
        token = settings.outcome_push_token
        if not token:
            raise UsageError("Set OUTCOME_PUSH_TOKEN to a push token of the workspace "
                             "(`/outcome push-token create <name>` shows one).", usage)
        with httpx.Client() as client:
            answer = send_push(client, options.url, token, [pushed])
        stored, duplicates = answer.get("stored", 0), answer.get("duplicates", 0)
    else:
        sessions = db.session_factory(wiring.open_database(settings))
        with db.transaction(sessions) as session:
            result = store_pushed(session, settings.outcome_workspace, settings.cli_user,
                                  [pushed])
        stored, duplicates = result.stored, result.duplicates
    if duplicates and not stored:
        print(f"{options.metric} already had this value at {at:%Y-%m-%d %H:%M:%S} UTC; "
              "nothing changed.")
    else:
        print(f"Pushed {value:g} to {options.metric} at {at:%Y-%m-%d %H:%M:%S} UTC.")
    return 0


VERBS = {"push": push_main, "backfill": backfill_main}
HELP = ("  outcome pull [<initiative>|<initiative>.<metric>]\n"
        "  outcome push <initiative>.<metric> <value> [--at TIME] [--segment S] [--url URL]\n"
        "  outcome backfill <initiative>.<metric> --since DATE [--until DATE] [--step 1h] "
        "[--set-baseline]")

