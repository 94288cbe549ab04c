"""Run the real bot on a loopback port against the fake Slack, and talk to it like Slack:
signed slash commands, interactions and events over HTTP.

The fixtures (``slack``, ``bot``) live in ``slack_fixtures``; a test module loads them with
``pytest_plugins = ("slack_fixtures",)``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from fake_slack import BOT_TOKEN, TEAM, FakeSlack
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from bot.core.clock import system_clock
from bot.slack.config import SlackConfig
from bot.slack.runtime import Runtime
from bot.storage.db import make_engine, session_factory, upgrade
from bot.web.guard import RequestGuard
from bot.web.server import SlackServer, make_server, start_in_thread
from handlers.app import build_app

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PO, ENG, OTHER = "UPO", "UENG", "UOTHER"
CHANNEL = "C0REVIEWS"


def signature_headers(body: str, *, secret: str = SIGNING_SECRET,
                      timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    signature = f"v0={digest.hexdigest()}"
    # Cross-check with the SDK's verifier, so the helper cannot drift from Slack's scheme.
    assert SignatureVerifier(secret).is_valid(body, stamp, signature) or timestamp is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


@dataclass
class HTTPResult:
    status: int
    body: str
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        """The text of an ack (empty when the ack carried no message)."""
        data = self.json() if self.body.startswith("{") else None
        return (data or {}).get("text", "") if isinstance(data, dict) else self.body


def http_request(url: str, method: str = "GET", body: str = "",
                 headers: dict[str, str] | None = None) -> HTTPResult:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body.encode() if body else None,
                           headers=headers or {})
        response = connection.getresponse()
        data = response.read().decode("utf-8", errors="replace")
        elapsed = time.perf_counter() - started
        headers = {name.lower(): value for name, value in response.getheaders()}
        return HTTPResult(response.status, data, headers, elapsed)
    finally:
        connection.close()


def command_request(bot_url: str, response_url: str, text: str, *, user: str = PO,
                    channel: str = CHANNEL, team: str = TEAM) -> HTTPResult:
    """``/outcome <text>`` signed as Slack sends it to ``bot_url``; answers go to
    ``response_url``."""
    form = urlencode({
        "token": "legacy", "team_id": team, "team_domain": "acme", "channel_id": channel,
        "channel_name": "reviews", "user_id": user, "user_name": user.lower(),
        "command": "/outcome", "text": text, "api_app_id": "A0FAKE",
        "response_url": response_url, "trigger_id": f"trigger-{time.monotonic_ns()}"})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signature_headers(form)}
    return http_request(f"{bot_url}/slack/events", "POST", form, headers)


@dataclass
class Bot:
    """The bot's HTTP endpoint and what it runs on."""

    server: SlackServer
    slack: FakeSlack
    engine: Engine
    runtime: Runtime
    team: str = TEAM
    sent: list[str] = field(default_factory=list)

    @property
    def events_url(self) -> str:
        return f"{self.server.url}/slack/events"

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None,
             *, sign: bool = True) -> HTTPResult:
        all_headers = {"Content-Type": content_type}
        if sign:
            all_headers |= signature_headers(body)
        all_headers |= headers or {}
        return http_request(self.events_url, "POST", body, all_headers)

    def command(self, text: str, *, user: str = PO, channel: str = CHANNEL,
                team: str | None = None) -> HTTPResult:
        """``/outcome <text>`` as Slack sends it; the response URL points at the fake."""
        return command_request(self.server.url, self.slack.response_url(), text, user=user,
                               channel=channel, team=team or self.team)

    def interaction(self, payload: dict[str, Any]) -> HTTPResult:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def click(self, action: dict[str, Any], *, user: str = PO, message: dict[str, Any] | None
              = None, channel: str = CHANNEL, team: str | None = None) -> HTTPResult:
        payload = {
            "type": "block_actions", "team": {"id": team or self.team, "domain": "acme"},
            "user": {"id": user, "team_id": team or self.team}, "api_app_id": "A0FAKE",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "channel": {"id": channel}, "container": {"type": "message"},
            "response_url": self.slack.response_url(), "actions": [action],
        }
        if message is not None:
            payload["message"] = message
        return self.interaction(payload)

    def submit(self, view: dict[str, Any], values: dict[str, dict[str, Any]], *,
               user: str = PO) -> HTTPResult:
        """A view_submission of ``view`` with ``{block_id: element state}`` values."""
        payload = {
            "type": "view_submission", "team": {"id": self.team, "domain": "acme"},
            "user": {"id": user, "team_id": self.team}, "api_app_id": "A0FAKE",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "view": {**view, "state": {"values": {
                block: {"value": state} for block, state in values.items()}}},
        }
        return self.interaction(payload)

    def event(self, event: dict[str, Any], *, team: str | None = None,
              headers: dict[str, str] | None = None, event_id: str = "") -> HTTPResult:
        envelope = {
            "token": "legacy", "team_id": team or self.team, "api_app_id": "A0FAKE",
            "type": "event_callback", "event": event,
            "event_id": event_id or f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team or self.team, "user_id": "UBOTT1",
                                "is_bot": True}],
        }
        return self.post(json.dumps(envelope), "application/json", headers)


def start_bot(slack: FakeSlack, engine: Engine, config: SlackConfig,
              now: datetime | None = None) -> Bot:
    # Signed requests carry real timestamps, so the bot's clock is the wall clock unless a
    # test pins it; seeded data is placed relative to it.
    runtime = Runtime(session_factory(engine), system_clock if now is None else lambda: now)
    app = build_app(config, runtime, engine)
    # As `outcome serve` runs: signatures and replays checked before bolt parses a body
    # (against the wall clock, which signs the requests, even when the bot's clock is pinned).
    guard = RequestGuard(config.signing_secret, runtime.sessions, system_clock,
                         runtime.priority)
    server = make_server(app, "127.0.0.1", 0, guard=guard)
    start_in_thread(server, poll_interval=0.05)
    return Bot(server, slack, engine, runtime)


def stop_bot(bot: Bot) -> None:
    bot.server.shutdown()
    bot.server.server_close()
    bot.runtime.drain()


@contextmanager
def serving(slack: FakeSlack, engine: Engine, config: SlackConfig) -> Iterator[Bot]:
    """A bot serving on loopback for the block; on leaving, its work after acks is done."""
    bot = start_bot(slack, engine, config)
    try:
        yield bot
    finally:
        stop_bot(bot)


def token_config(slack: FakeSlack) -> SlackConfig:
    """One workspace installed with a bot token, against the fake Slack ``slack``."""
    return SlackConfig(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN,
                       api_url=slack.api_url)


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


NOW = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def seed_checkout(bot: Bot, *, samples: bool = True, channel: str = CHANNEL,
                  team: str | None = None) -> None:
    """An initiative with owners, a review channel and a metric that moved this sprint."""
    from datetime import timedelta

    from bot.app.commands import execute
    from bot.app.context import Actor
    from bot.app.services import record_value
    from bot.grammar import commands as g
    from bot.storage.db import transaction

    ctx = bot.runtime.context(team or bot.team, PO)
    execute(g.Define("checkout", {"name": "Faster checkout", "channel": channel,
                                  "product_owner": PO, "engineering_owner": ENG,
                                  "why": "More completed orders"}), ctx)
    execute(g.MetricAdd("checkout", "deploy-time", {
        "name": "Deploy time", "unit": "min", "direction": "down", "baseline_value": 40.0,
        "target_value": 12.0, "noise": 1.0}), ctx)  # three values: too few to learn
    # its variation from, so its noise threshold judges them
    execute(g.MetricAdd("checkout", "errors", {
        "name": "Checkout errors", "unit": "%", "direction": "down", "target_value": 1.0}),
        ctx)
    if samples:
        now = bot.runtime.now()
        with transaction(bot.runtime.sessions) as session:
            actor = Actor(team or bot.team, PO)
            for days, value in ((40, 40.0), (20, 35.0), (0.001, 20.0)):
                record_value(session, actor, "checkout", "deploy-time", value,
                             now - timedelta(days=days))
