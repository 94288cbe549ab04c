"""The HTTP endpoint: signatures, health check, limits, and acks that always come fast."""

from __future__ import annotations

import socket
import string
import threading
import time
from urllib.parse import urlencode

import pytest
from fake_slack import FakeSlack
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_helpers import (
    CHANNEL,
    PO,
    Bot,
    http_request,
    seed_checkout,
    signature_headers,
)

from bot.grammar import commands as g
from handlers.commands import plan
from handlers.markup import plain_text

FORM = "application/x-www-form-urlencoded"


def _command_body(text: str) -> str:
    return urlencode({"team_id": "T1", "user_id": PO, "channel_id": CHANNEL,
                      "command": "/outcome", "text": text, "trigger_id": "t",
                      "response_url": "http://127.0.0.1:9/response/x"})


def test_a_request_with_a_bad_signature_gets_401(bot: Bot) -> None:
    body = _command_body("help")
    headers = signature_headers(body, secret="not-the-signing-secret")

    result = bot.post(body, FORM, headers, sign=False)

    assert result.status == 401


def test_a_request_without_a_signature_gets_401(bot: Bot) -> None:
    result = bot.post(_command_body("help"), FORM, sign=False)

    assert result.status == 401


def test_a_stale_signature_gets_401_even_when_the_hmac_is_right(bot: Bot) -> None:
    body = _command_body("help")
    headers = signature_headers(body, timestamp=int(time.time()) - 6 * 60)

    result = bot.post(body, FORM, headers, sign=False)

    assert result.status == 401


def test_a_body_changed_after_signing_gets_401(bot: Bot) -> None:
    headers = signature_headers(_command_body("help"))

    result = bot.post(_command_body("archive checkout"), FORM, headers, sign=False)

    assert result.status == 401


def test_health_check_answers_200(bot: Bot) -> None:
    result = http_request(f"{bot.server.url}/healthz")

    assert (result.status, result.body) == (200, "ok")


def test_health_check_answers_503_when_the_database_is_down(bot: Bot) -> None:
    bot.server.health = lambda: (_ for _ in ()).throw(OSError("connection refused"))

    assert http_request(f"{bot.server.url}/healthz").status == 503


def test_unknown_paths_get_404(bot: Bot) -> None:
    assert http_request(f"{bot.server.url}/slack/install").status == 404  # no OAuth here
    assert http_request(f"{bot.server.url}/admin", "POST", "x").status == 404


def test_an_oversized_body_is_refused_before_it_is_read(bot: Bot) -> None:
    host, port = bot.server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: 50000000\r\n\r\n")
        status_line = connection.recv(200).split(b"\r\n")[0]

    assert status_line.split()[1] == b"413"


def test_url_verification_is_answered(bot: Bot) -> None:
    result = bot.post('{"type": "url_verification", "challenge": "abc123", "token": "t"}',
                      "application/json")

    assert result.status == 200
    assert result.json() == {"challenge": "abc123"}


def test_review_acks_fast_while_charts_render_slowly(bot: Bot, slack: FakeSlack,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.render import charts

    # Draw in this process, where the slowed-down chart function below is in effect.
    monkeypatch.setattr("bot.render.pool._workers", 0)
    seed_checkout(bot)
    rendering = threading.Event()
    real_chart = charts.initiative_chart

    def slow_chart(*args: object, **kwargs: object) -> bytes:
        rendering.set()
        time.sleep(1.5)
        return real_chart(*args, **kwargs)

    monkeypatch.setattr(charts, "initiative_chart", slow_chart)
    bot.command("review")
    assert rendering.wait(10)

    started = time.perf_counter()
    second = bot.command("review")
    elapsed = time.perf_counter() - started

    assert second.status == 200 and "Building the review" in second.text
    assert elapsed < 0.5, f"ack took {elapsed:.2f} s while a chart rendered"
    slack.wait_for(lambda: len(slack.ok_calls_to("files.completeUploadExternal")) >= 2, 20)


_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from([*g.COMMANDS, "checkout", "checkout.deploy-time", "add", "42",
                              "all", "this", "last", "sprint", "quarter", "since", "2026-01-01",
                              "as=product", "format=csv", "target=12", "baseline=x", "by=",
                              '"', "'", "“", "<@U1|a>", "<#C1|c>", "=", "-1e999", "nan"]),
             max_size=6).map(" ".join),
    st.text(alphabet=string.printable, max_size=200),
)

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


@settings(max_examples=2000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=_TEXT)
@example(text="SHOW 0<>")  # Slack markup the bot resolves before parsing
def test_any_command_text_gets_a_200_ack_with_a_useful_message(bot: Bot, text: str) -> None:
    result = bot.command(text)

    assert result.status == 200, result.body
    assert "Traceback" not in result.body
    if result.text:
        assert len(result.text) > 10
        return
    # An empty ack means the text parsed (or opens a modal): the answer follows through
    # the response URL, which the scenario tests check.
    assert plan(text).kind in {"work", "define_modal", "metric_modal"}
    if plan(text).kind == "work":  # it parses as the bot reads it: Slack's markup resolved
        g.parse(plain_text(text))
