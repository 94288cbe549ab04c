"""Work after an ack waits while other requests are being acknowledged, but not forever."""

from __future__ import annotations

import threading
import time

import pytest

from bot.slack.ack_priority import AckPriority


def _ack_in_thread(priority: AckPriority, release: threading.Event) -> threading.Thread:
    """A request whose listener runs until ``release`` is set."""
    entered = threading.Event()

    def listener() -> str:
        entered.set()
        release.wait(5)
        return "acked"

    thread = threading.Thread(target=priority.middleware, args=(listener,))
    thread.start()
    assert entered.wait(5)
    return thread


def _timed_wait(priority: AckPriority) -> tuple[threading.Thread, list[float]]:
    finished: list[float] = []
    thread = threading.Thread(
        target=lambda: (priority.wait_for_acks(), finished.append(time.monotonic())))
    thread.start()
    return thread, finished


def test_work_waits_until_the_acks_in_progress_are_sent_and_a_quiet_moment_passed() -> None:
    priority = AckPriority(quiet=0.05, max_delay=5)
    release = threading.Event()
    acking = _ack_in_thread(priority, release)
    waiter, finished = _timed_wait(priority)

    time.sleep(0.2)
    assert not finished  # still acking: the work has not started
    released_at = time.monotonic()
    release.set()
    acking.join(5)
    waiter.join(5)

    assert finished and finished[0] - released_at >= 0.05


def test_work_starts_at_once_when_nothing_is_being_acked() -> None:
    priority = AckPriority(quiet=0.05, max_delay=5)
    started = time.monotonic()

    priority.wait_for_acks()

    assert time.monotonic() - started < 0.05


def test_a_steady_stream_of_acks_delays_work_by_at_most_max_delay() -> None:
    priority = AckPriority(quiet=0.05, max_delay=0.3)
    release = threading.Event()
    acking = _ack_in_thread(priority, release)
    started = time.monotonic()
    try:
        priority.wait_for_acks()
        waited = time.monotonic() - started
    finally:
        release.set()
        acking.join(5)

    assert 0.3 <= waited < 2


def test_the_middleware_returns_the_listener_result_and_counts_down_on_errors() -> None:
    priority = AckPriority(quiet=0, max_delay=5)

    def failing() -> None:
        raise RuntimeError("listener failed")

    assert priority.middleware(lambda: "response") == "response"
    with pytest.raises(RuntimeError):
        priority.middleware(failing)
    started = time.monotonic()
    priority.wait_for_acks()  # not stuck waiting for the failed request
    assert time.monotonic() - started < 0.5
