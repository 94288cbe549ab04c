"""Pushed values: an authenticated endpoint, idempotent retries, and `outcome push`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import func, select

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.push import handle_push
from bot.app.push_tokens import create_token
from bot.app.services import define_initiative
from bot.storage.db import session_factory, transaction
from bot.storage.models import Deliverable, Sample
from metrics.push import PushedValue, send_push

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


@pytest.fixture
def sessions(engine):
    sessions = session_factory(engine)
    actor = Actor("T1", "eve", operator=True)  # a pulled source is for admins
    with transaction(sessions) as session:
        define_initiative(session, actor, "fleet", {"name": "Fleet",
                                                    "sprint_anchor": date(2026, 11, 16)}, now=NOW)
        define_metric(session, actor, "fleet", "deploy", {
            "name": "Deploy", "target_value": 12.0, "source_kind": "push"}, now=NOW)
        define_metric(session, actor, "fleet", "prom", {
            "name": "Prom", "target_value": 1.0, "source_kind": "prometheus",
            "source_config": {"connection": "prom", "query": "up"}}, now=NOW)
    return sessions


@pytest.fixture
def token(sessions) -> str:
    """A push token of workspace T1, as an admin creates it."""
    with transaction(sessions) as session:
        return create_token(session, Actor("T1", "ada", admin=True), "ci", now=NOW)[1]


def push(sessions, body, authorization):
    return handle_push(sessions, workspace=None, authorization=authorization,
                       body=json.dumps(body).encode(), now=NOW)


def count(sessions) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(Sample))


def test_a_push_is_stored_once_however_often_it_is_retried(sessions, token) -> None:
    body = {"metric": "fleet.deploy", "value": 14.5, "at": "2026-11-29T10:00:00Z",
            "segment": "region=EU"}

    first, again = push(sessions, body, f"Bearer {token}"), push(sessions, body,
                                                                 f"Bearer {token}")

    assert first == (200, {"ok": True, "stored": 1, "duplicates": 0, "shipped": 0})
    assert again == (200, {"ok": True, "stored": 0, "duplicates": 1, "shipped": 0})
    assert count(sessions) == 1


@pytest.mark.parametrize(("authorization", "body", "status", "words"), [
    (None, {}, 401, "Bearer"),
    ("Bearer wrong", {}, 401, "not a push token"),
    ("Bearer {token}", {"metric": "fleet.deploy", "value": "x"}, 400, "finite number"),
    ("Bearer {token}", {"metric": "fleet.nope", "value": 1}, 404, "no metric"),
    ("Bearer {token}", {"metric": "fleet.prom", "value": 1}, 409, "pulled from prometheus"),
    ("Bearer {token}", {"metric": "fleet.deploy", "value": 1, "at": "2030-01-01T00:00Z"},
     400, "future"),
])
def test_a_bad_push_is_refused_with_a_reason(sessions, token, authorization, body, status,
                                             words) -> None:
    authorization = authorization and authorization.format(token=token)

    code, answer = push(sessions, body, authorization)

    assert code == status and words in answer["error"]
    assert count(sessions) == 0


def test_a_pipeline_says_what_shipped_with_its_push_token_once(sessions, token) -> None:
    ship = {"deliverable": "fleet/Automatic rollback", "at": "2026-11-28T09:00:00Z",
            "moves": ["deploy"]}
    body = {"values": [{"metric": "fleet.deploy", "value": 9, "at": "2026-11-28T09:00:00Z"}],
            "shipped": [ship]}

    first, again = push(sessions, body, f"Bearer {token}"), push(sessions, body,
                                                                 f"Bearer {token}")
    alone = push(sessions, {"shipped": [{"deliverable": "fleet/Mirrors"}]}, f"Bearer {token}")

    assert first == (200, {"ok": True, "stored": 1, "duplicates": 0, "shipped": 1})
    assert again == (200, {"ok": True, "stored": 0, "duplicates": 1, "shipped": 0})
    assert alone == (200, {"ok": True, "stored": 0, "duplicates": 0, "shipped": 1})
    with transaction(sessions) as session:
        rows = session.scalars(select(Deliverable).order_by(Deliverable.id)).all()
        assert [(r.name, r.moves, r.shipped_at, r.shipped_by) for r in rows] == [
            ("Automatic rollback", ["deploy"], datetime(2026, 11, 28, 9, tzinfo=UTC),
             "push:ci"),
            ("Mirrors", [], NOW, "push:ci")]


@pytest.mark.parametrize(("ship", "status", "words"), [
    ({"deliverable": "Automatic rollback"}, 400, "<initiative>/<deliverable name>"),
    ({"deliverable": "fleet/"}, 400, "needs a name"),
    ({"deliverable": "fleet/X", "moves": "deploy"}, 400, "a list of metric keys"),
    ({"deliverable": "fleet/X", "moves": ["nope"]}, 400, "fleet has no metric nope"),
    ({"deliverable": "fleet/X", "at": "2030-01-01T00:00Z"}, 400, "future"),
    ({"deliverable": "nope/X"}, 404, "No initiative 'nope'"),
])
def test_a_bad_shipped_item_is_refused_and_nothing_is_stored(sessions, token, ship, status,
                                                             words) -> None:
    body = {"values": [{"metric": "fleet.deploy", "value": 9}], "shipped": [ship]}

    code, answer = push(sessions, body, f"Bearer {token}")

    assert code == status and words in answer["error"]
    assert count(sessions) == 0
    with transaction(sessions) as session:
        assert session.scalars(select(Deliverable)).all() == []


def test_a_push_token_may_not_relink_an_existing_deliverable(sessions, token) -> None:
    first = push(sessions, {"shipped": [{"deliverable": "fleet/X", "moves": ["deploy"]}]},
                 f"Bearer {token}")

    code, answer = push(sessions, {"shipped": [{"deliverable": "fleet/X", "moves": []}]},
                        f"Bearer {token}")

    assert first[0] == 200
    assert code == 403 and "change its deliverables" in answer["error"]


def test_send_push_retries_an_outage_without_storing_twice(sessions, token) -> None:
    calls = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        code, answer = handle_push(sessions, workspace=None,
                                   authorization=request.headers.get("authorization"),
                                   body=request.content, now=NOW)
        if len(calls) == 1:
            return httpx.Response(502)  # stored, but the answer was lost on the way
        return httpx.Response(code, json=answer)

    value = PushedValue("fleet", "deploy", 13.0, datetime(2026, 11, 29, 9, tzinfo=UTC))
    with httpx.Client(transport=httpx.MockTransport(server)) as client:
        answer = send_push(client, "http://outcomes.test", token, [value],
                           sleep=lambda _: None)

    assert len(calls) == 2
    assert answer == {"ok": True, "stored": 0, "duplicates": 1, "shipped": 0}
    assert count(sessions) == 1
