"""Pushed values: an authenticated endpoint, idempotent retries, and `outcome push`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import func, select

from bot.app.context import Actor
from bot.app.push import handle_push
from bot.app.services import define_initiative, define_metric
from bot.storage.db import session_factory, transaction
from bot.storage.models import Sample
from metrics.push import PushedValue, send_push

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
TOKEN = "push-token-123"


@pytest.fixture
def sessions(engine):
    sessions = session_factory(engine)
    actor = Actor("T1", "eve")
    with transaction(sessions) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        define_metric(session, actor, "fleet", "deploy", {
            "name": "Deploy", "target_value": 12.0, "source_kind": "push"}, now=NOW)
        define_metric(session, actor, "fleet", "prom", {
            "name": "Prom", "target_value": 1.0, "source_kind": "prometheus",
            "source_config": {"url": "http://p", "query": "up"}}, now=NOW)
    return sessions


def push(sessions, body, authorization=f"Bearer {TOKEN}"):
    return handle_push(sessions, workspace="T1", expected_token=TOKEN,
                       authorization=authorization, body=json.dumps(body).encode(), now=NOW)


def count(sessions) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(Sample))


def test_a_push_is_stored_once_however_often_it_is_retried(sessions) -> None:
    body = {"metric": "fleet.deploy", "value": 14.5, "at": "2026-11-29T10:00:00Z",
            "segment": "region=EU"}

    first, again = push(sessions, body), push(sessions, body)

    assert first == (200, {"ok": True, "stored": 1, "duplicates": 0})
    assert again == (200, {"ok": True, "stored": 0, "duplicates": 1})
    assert count(sessions) == 1


@pytest.mark.parametrize(("authorization", "body", "status", "words"), [
    (None, {}, 401, "Bearer"),
    ("Bearer wrong", {}, 401, "Bearer"),
    (f"Bearer {TOKEN}", {"metric": "fleet.deploy", "value": "x"}, 400, "finite number"),
    (f"Bearer {TOKEN}", {"metric": "fleet.nope", "value": 1}, 404, "no metric"),
    (f"Bearer {TOKEN}", {"metric": "fleet.prom", "value": 1}, 409, "pulled from prometheus"),
    (f"Bearer {TOKEN}", {"metric": "fleet.deploy", "value": 1, "at": "2030-01-01T00:00Z"},
     400, "future"),
])
def test_a_bad_push_is_refused_with_a_reason(sessions, authorization, body, status,
                                             words) -> None:
    code, answer = push(sessions, body, authorization)

    assert code == status and words in answer["error"]
    assert count(sessions) == 0


def test_send_push_retries_an_outage_without_storing_twice(sessions) -> None:
    calls = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        code, answer = handle_push(sessions, workspace="T1", expected_token=TOKEN,
                                   authorization=request.headers.get("authorization"),
                                   body=request.content, now=NOW)
        if len(calls) == 1:
            return httpx.Response(502)  # stored, but the answer was lost on the way
        return httpx.Response(code, json=answer)

    value = PushedValue("fleet", "deploy", 13.0, datetime(2026, 11, 29, 9, tzinfo=UTC))
    with httpx.Client(transport=httpx.MockTransport(server)) as client:
        answer = send_push(client, "http://outcomes.test", TOKEN, [value],
                           sleep=lambda _: None)

    assert len(calls) == 2
    assert answer == {"ok": True, "stored": 0, "duplicates": 1}
    assert count(sessions) == 1
