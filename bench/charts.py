"""Milliseconds per review chart, against the floor of saving an empty figure of that size.

    python bench/charts.py [--renders 1000]

Uses the demo workspace's review (5 metrics, 4 months of 6-hourly history). Prints the
median time per chart, the floor, their ratio (goal: within 3x), and the growth of the
process's resident memory over the renders (goal: under 20 MB).
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.app.demo import seed_demo
from bot.app.review_builder import build_review
from bot.core.periods import PeriodSpec
from bot.render.charts import initiative_chart, initiative_figure
from bot.storage.db import make_engine, session_factory, transaction, upgrade

NOW = datetime(2026, 11, 29, 9, tzinfo=UTC)


def rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def empty_figure_png(width_in: float, height_in: float, dpi: float) -> bytes:
    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def timed(function, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        sessions = session_factory(engine)
        seed_demo(sessions, "bench", NOW)
        with transaction(sessions) as session:
            review = build_review(session, "bench", PeriodSpec("this_sprint"), NOW)
        engine.dispose()
    initiative = max(review.initiatives, key=lambda i: len(i.metrics))
    figure = initiative_figure(initiative)
    width, height = figure.get_size_inches()
    dpi = figure.dpi
    print(f"chart: {initiative.name!r}, {len(initiative.metrics)} metrics, "
          f"{width * dpi:.0f}x{height * dpi:.0f} px")
    initiative_chart(initiative)  # warm caches (fonts, tick locators)
    empty_figure_png(width, height, dpi)
    chart = statistics.median(timed(lambda: initiative_chart(initiative), 30))
    floor = statistics.median(timed(lambda: empty_figure_png(width, height, dpi), 30))
    print(f"review chart: {chart:.0f} ms; empty figure of the same size: {floor:.0f} ms; "
          f"ratio {chart / floor:.2f}x (goal: within 3x)")
    before = rss_mb()
    started = time.perf_counter()
    for _ in range(options.renders):
        initiative_chart(initiative)
    elapsed = time.perf_counter() - started
    growth = rss_mb() - before
    print(f"{options.renders} renders in {elapsed:.1f} s ({options.renders / elapsed:.1f} "
          f"charts/s on one core); resident memory grew {growth:.1f} MB (goal: < 20 MB)")


if __name__ == "__main__":
    main()
