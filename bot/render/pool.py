"""Charts drawn in worker processes.

matplotlib is not thread-safe and holds the GIL while it draws, so a process that acks
Slack or posts many digests hands its charts to a small pool of processes: drawing uses
every core, and acks never wait behind it. The workers run at a lower scheduling priority
(nice 10): when every core is busy, the process that acks gets the CPU first, and charts,
which nobody waits on within seconds, take what is left. ``OUTCOME_CHART_WORKERS=0`` draws
in-process, one chart at a time; the composition root sets it with :func:`set_workers`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.core.review import InitiativeReview
from bot.render import charts
from bot.render.common import initiative_chart_name, segment_chart_name

log = logging.getLogger(__name__)

_DRAWING = threading.Lock()  # in-process drawing, one chart at a time
_POOL_LOCK = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_in_progress = 0
_workers = os.cpu_count() or 1
WORKER_NICENESS = 10  # added to the workers' nice value; acks and posting come first


def chart_files(initiative: InitiativeReview) -> list[dict[str, Any]]:
    """PNG files for one initiative: its overview, and a breakdown per segmented metric."""
    files = []
    if initiative.metrics:
        files.append({"content": charts.initiative_chart(initiative),
                      "filename": initiative_chart_name(initiative),
                      "title": f"{initiative.name} — {initiative.period.label}"})
    for metric in initiative.metrics:
        png = charts.segment_chart(metric, initiative.period) if metric.segments else None
        if png:
            files.append({"content": png,
                          "filename": segment_chart_name(initiative, metric),
                          "title": f"{metric.definition.name} by segment"})
    return files


def set_workers(count: int) -> None:
    """How many processes draw charts (``OUTCOME_CHART_WORKERS``); 0 draws in-process."""
    global _workers
    _workers = count


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    with _POOL_LOCK:
        if _pool is None:
            # spawn, not fork: forking a process that runs threads can copy held locks.
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_yield_the_cpu)
        return _pool


def _yield_the_cpu() -> None:
    """Run this worker at a lower priority than the bot's own process."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not permitted here: draw at the normal priority
        log.debug("could not lower the chart worker's priority", exc_info=True)


def _drop_pool() -> None:
    global _pool
    with _POOL_LOCK:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def render_chart_files(initiative: InitiativeReview) -> list[dict[str, Any]]:
    """:func:`chart_files`, drawn in the pool (or in-process when it is off or broken)."""
    global _in_progress
    with _POOL_LOCK:
        _in_progress += 1
    try:
        workers = _workers
        if workers:
            try:
                return _get_pool(workers).submit(chart_files, initiative).result()
            except BrokenProcessPool:
                log.warning("a chart worker died; drawing in-process and starting new ones")
                _drop_pool()
        with _DRAWING:
            return chart_files(initiative)
    finally:
        with _POOL_LOCK:
            _in_progress -= 1


def start_chart_files(initiative: InitiativeReview) -> Future[list[dict[str, Any]]] | None:
    """Start drawing :func:`chart_files` in the pool and return at once; None when charts
    are drawn in-process (then :func:`render_chart_files` draws them when needed)."""
    workers = _workers
    if not workers:
        return None
    try:
        return _get_pool(workers).submit(chart_files, initiative)
    except BrokenProcessPool:
        _drop_pool()
        return None


def charts_in_progress() -> int:
    """How many charts are being drawn right now (benchmarks watch this)."""
    return _in_progress
