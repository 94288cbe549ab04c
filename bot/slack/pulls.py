"""``/outcome pull`` as people type it: limits per person, and a word when it takes long.

A pull waits on other systems, sometimes for a minute, so it runs on the task queue's
``pulls`` queue, never on the threads that answer everyone's other commands, and ahead of
the scheduled pulls (a higher priority). Each person (workspace and user) has one pull
waiting at a time (a queueing lock) and one running (a lock), and ``PULLS_PER_MINUTE`` a
minute. A pull not finished ``PULL_WAIT_SECONDS`` after it was asked for says so; its result
follows when it comes (each metric's read is bounded by the puller's deadline).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Respond
from slack_sdk.webhook import WebhookResponse

from bot.core.clock import Clock

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (workspace, user)

PULLS_PER_MINUTE = 4
PULL_WAIT_SECONDS = 30.0
PULL_PRIORITY = 10  # ahead of scheduled pulls in the same queue
MINUTE = timedelta(minutes=1)

WAITING = ("You already have a pull waiting; I'll answer here when it has run. Start the "
           "next one after that.")
STILL_PULLING = (":hourglass_flowing_sand: Still pulling after {seconds:g} s: a source is "
                 "slow to answer. I'll post the result here when it finishes.")


def pull_lock(key: Key) -> str:
    """The lock (and queueing lock) of one person's pulls."""
    return f"pull:{key[0]}:{key[1]}"


class PullLimits:
    """How many pulls a person may start: ``per_minute`` a minute (counted by the replica
    that acks them)."""

    def __init__(self, now: Clock, per_minute: int = PULLS_PER_MINUTE) -> None:
        self._now, self.per_minute = now, per_minute
        self._started: dict[Key, deque[datetime]] = {}
        self._lock = threading.Lock()

    def refusal(self, key: Key) -> str | None:
        """None when ``key`` may start a pull now, else what to tell them."""
        now = self._now()
        with self._lock:
            self._forget(now - MINUTE)
            started = self._started.get(key)
            if started is None or len(started) < self.per_minute:
                return None
            wait = math.ceil((started[0] + MINUTE - now).total_seconds())
            return (f"You started {len(started)} pulls in the last minute, the most there "
                    f"can be; try again in {max(wait, 1)} s.")

    def started(self, key: Key) -> None:
        """Count a pull ``key`` started (one that was stored, not one refused)."""
        with self._lock:
            self._started.setdefault(key, deque()).append(self._now())

    def _forget(self, before: datetime) -> None:
        for key, started in list(self._started.items()):
            while started and started[0] <= before:
                started.popleft()
            if not started:
                del self._started[key]


@contextmanager
def still_pulling_notice(respond: Respond, asked: float, wait: float
                         ) -> Iterator[Respond]:
    """``respond`` for a pull asked for ``asked`` seconds ago, which says it is still
    pulling once ``wait`` seconds have passed since then without an answer (never after
    its answer)."""
    answers = _Answers(respond)
    timer = threading.Timer(max(wait - asked, 0.0), answers.unless_answered,
                            (STILL_PULLING.format(seconds=wait),))
    timer.daemon = True
    timer.start()
    try:
        yield answers
    finally:
        timer.cancel()


class _Answers(Respond):
    """A pull's ``respond``, which knows whether the pull has answered yet."""

    def __init__(self, respond: Respond) -> None:
        super().__init__(response_url=respond.response_url, proxy=respond.proxy,
                         ssl=respond.ssl)
        self._lock = threading.Lock()
        self._answered = False

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        with self._lock:
            self._answered = True
            return super().__call__(*args, **kwargs)

    def unless_answered(self, text: str) -> None:
        with self._lock:
            if self._answered:
                return
            try:
                super().__call__(text=text)
            except Exception as exc:
                log.warning("could not say that a pull is still running: %s",
                            type(exc).__name__)
