"""``/outcome pull`` as people type it: a pool of its own and limits per person.

A pull waits on other systems, sometimes for a minute, so it never runs on the pools that
answer everyone's other commands: it gets ``PULL_THREADS`` threads of its own. Each person
(workspace and user) has one pull at a time and ``PULLS_PER_MINUTE`` a minute, and at most
``MAX_PULLS`` wait or run in all, so one person cannot queue work in front of everyone
else's. A pull not finished ``PULL_WAIT_SECONDS`` after it was asked for says so; its
result follows when it comes (each metric's read is bounded by the puller's deadline).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Respond
from slack_sdk.webhook import WebhookResponse

from bot.core.clock import Clock

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (workspace, user)

PULL_THREADS = 2
PULLS_PER_MINUTE = 4
MAX_PULLS = 16
PULL_WAIT_SECONDS = 30.0
MINUTE = timedelta(minutes=1)

RUNNING = ("You already have a pull running; I'll answer here when it finishes. Start the "
           "next one after that.")
STILL_PULLING = (":hourglass_flowing_sand: Still pulling after {seconds:g} s: a source is "
                 "slow to answer. I'll post the result here when it finishes.")


class PullLimits:
    """Who may start a pull now: one at a time per person, ``per_minute`` a minute per
    person, ``most`` at once in all."""

    def __init__(self, now: Clock, per_minute: int = PULLS_PER_MINUTE, most: int = MAX_PULLS
                 ) -> None:
        self._now, self.per_minute, self.most = now, per_minute, most
        self._running: set[Key] = set()
        self._started: dict[Key, deque[datetime]] = {}
        self._lock = threading.Lock()

    def take(self, key: Key) -> str | None:
        """None when ``key`` may start a pull now (it counts as running until
        :meth:`release`), else what to tell them."""
        now = self._now()
        with self._lock:
            if key in self._running:
                return RUNNING
            if len(self._running) >= self.most:
                return (f"{self.most} pulls are already waiting for their sources; try "
                        "again in a minute.")
            self._forget(now - MINUTE)
            started = self._started.setdefault(key, deque())
            if len(started) >= self.per_minute:
                wait = math.ceil((started[0] + MINUTE - now).total_seconds())
                return (f"You started {len(started)} pulls in the last minute, the most "
                        f"there can be; try again in {max(wait, 1)} s.")
            started.append(now)
            self._running.add(key)
            return None

    def release(self, key: Key) -> None:
        with self._lock:
            self._running.discard(key)

    def _forget(self, before: datetime) -> None:
        for key, started in list(self._started.items()):
            while started and started[0] <= before:
                started.popleft()
            if not started:
                del self._started[key]


class InteractivePulls:
    """Runs people's pulls on a pool of their own, within :class:`PullLimits`."""

    def __init__(self, now: Clock, before: Callable[[], None] = lambda: None, *,
                 threads: int = PULL_THREADS, wait: float = PULL_WAIT_SECONDS,
                 limits: PullLimits | None = None) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outcome-pull")
        self.limits = limits or PullLimits(now)
        self.wait = wait
        self._before = before  # e.g. wait until the acks in progress are sent

    def start(self, key: Key, work: Callable[[Respond], None], respond: Respond
              ) -> str | None:
        """Hand ``work(respond)`` to the pool, or return why ``key`` may not pull now.

        When ``work`` has not answered ``wait`` seconds later, ``respond`` says it is still
        pulling (never after its answer). ``work`` reports its own errors.
        """
        refusal = self.limits.take(key)
        if refusal is not None:
            return refusal
        answers = _Answers(respond, lambda: self.limits.release(key))

        def run() -> None:
            try:
                self._before()
                work(answers)
            except Exception:
                log.exception("an interactive pull failed")
            finally:
                timer.cancel()
                self.limits.release(key)

        timer = threading.Timer(self.wait, answers.unless_answered,
                                (STILL_PULLING.format(seconds=self.wait),))
        timer.daemon = True
        timer.start()
        self.pool.submit(run)
        return None

    def shutdown(self) -> None:
        """Finish the pulls already asked for."""
        self.pool.shutdown(wait=True)


class _Answers(Respond):
    """A pull's ``respond``, which knows whether the pull has answered yet; its answer
    frees the person's slot first (``answered``), so a next pull asked for as soon as the
    answer shows is taken."""

    def __init__(self, respond: Respond, answered: Callable[[], None]) -> None:
        super().__init__(response_url=respond.response_url, proxy=respond.proxy,
                         ssl=respond.ssl)
        self._lock = threading.Lock()
        self._answered = False
        self._on_answer = answered

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        with self._lock:
            self._answered = True
            self._on_answer()
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
