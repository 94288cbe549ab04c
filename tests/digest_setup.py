"""Shared set-up for the digest tests: channels with a scheduled digest each, and a runner
that posts to the fake Slack through the real SlackPoster."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fake_slack import BOT_TOKEN, TEAM
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.app.digests import DigestRunner
from bot.slack.posting import POST_INTERVAL, ChannelPacer, SlackPoster
from bot.storage.db import transaction
from bot.storage.models import DigestSchedule, Initiative, Metric, Sample

# 7-day sprints from Mon 2026-11-16, retro Friday 15:00 Berlin, 24 h lead: Thu 14:00 UTC.
FIRE = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)


def channel_name(index: int) -> str:
    return f"C{index:08d}"


def seed_channels(sessions: sessionmaker[Session], count: int) -> list[str]:
    """``count`` initiatives, each reviewed in its own channel with a sprint digest."""
    ctx = Context(Actor(TEAM, "U0EVE"), sessions, now=lambda: FIRE - timedelta(hours=6))
    channels = []
    for index in range(count):
        key, channel = f"team-{index:03d}", channel_name(index)
        for text in (
            f'define {key} "Team {index} delivery" channel={channel} tz=Europe/Berlin '
            "anchor=2026-11-16 sprint=7d",
            f'metric add {key} deploy "Deploy time" unit=min direction=down baseline=40 '
            "target=12 by=2027-03-31",
            f"record {key}.deploy {30 + index % 5} at=2026-11-14",
            f"record {key}.deploy {24 + index % 3} at=2026-11-18",
            f"schedule {key} retro=fri@15:00 lead=24h",
        ):
            reply = run(text, ctx)
            assert not reply.error, reply.text
        channels.append(channel)
    return channels


def copy_row(row: object, **changes: object) -> object:
    """A new, unsaved row of ``row``'s model with its columns, but ``changes`` and no id."""
    mapper = inspect(row).mapper
    values = {c.key: getattr(row, c.key) for c in mapper.column_attrs if c.key != "id"}
    return mapper.class_(**(values | changes))


def clone_channels(sessions: sessionmaker[Session], count: int, workspace: str,
                   prefix: str) -> None:
    """``count`` copies of the first seeded initiative (metric, samples, sprint digest),
    each in a channel of its own in ``workspace`` — in one transaction, as seeding
    hundreds through the command grammar takes a minute."""
    with transaction(sessions) as session:
        initiative = session.scalars(select(Initiative).order_by(Initiative.id)).first()
        assert initiative is not None
        metrics = session.scalars(select(Metric).where(
            Metric.initiative_id == initiative.id)).all()
        samples = {m.id: session.scalars(select(Sample).where(Sample.metric_id == m.id)).all()
                   for m in metrics}
        schedule = session.scalars(select(DigestSchedule).where(
            DigestSchedule.scope == f"initiative:{initiative.key}")).one()
        for index in range(count):
            key, channel = f"{prefix}-{index:03d}", f"C{prefix.upper()}{index:05d}"
            copy = copy_row(initiative, key=key, channel=channel, workspace=workspace)
            session.add(copy)
            session.flush()
            for metric in metrics:
                new_metric = copy_row(metric, initiative_id=copy.id)
                session.add(new_metric)
                session.flush()
                session.add_all(copy_row(s, metric_id=new_metric.id)
                                for s in samples[metric.id])
            session.add(copy_row(schedule, workspace=workspace, channel=channel,
                                 scope=f"initiative:{key}"))


class MovingClock:
    """Starts at the digests' fire time and runs with real time (pacing is real)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)


def slack_poster(api_url: str, *, timeout: float = 5.0, pace: float = POST_INTERVAL
                 ) -> SlackPoster:
    """The production poster with a client like make_client's, but a short timeout and
    quick 5xx retries, so fault-injection runs finish in seconds."""
    client = WebClient(token=BOT_TOKEN, base_url=api_url, timeout=timeout, retry_handlers=[
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2,
                                interval_calculator=FixedValueRetryIntervalCalculator(0.05)),
    ])
    return SlackPoster(client, pacer=ChannelPacer(pace))


def slack_runner(sessions: sessionmaker[Session], poster: SlackPoster, worker: str
                 ) -> DigestRunner:
    return DigestRunner(sessions, lambda workspace: poster, worker=worker)


def digests_by_key(slack) -> dict[str, list]:
    """Headline messages in the fake Slack, grouped by their run key."""
    found: dict[str, list] = {}
    for message in slack.messages:
        metadata = message.metadata or {}
        if metadata.get("event_type") == "outcome_digest":
            found.setdefault(metadata["event_payload"]["run_key"], []).append(message)
    return found


def parts_by_key(slack) -> dict[tuple[str, str], list]:
    """Thread replies that complete an initiative, grouped by (run key, initiative)."""
    found: dict[tuple[str, str], list] = {}
    for message in slack.messages:
        metadata = message.metadata or {}
        if metadata.get("event_type") == "outcome_digest_part":
            payload = metadata["event_payload"]
            found.setdefault((payload["run_key"], payload["part"]), []).append(message)
    return found
