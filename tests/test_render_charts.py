"""PNG charts: real images of the right size, legible as Slack thumbnails, in local time."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from builders import fleet_initiative, initiative, metric, sprint
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.text import Text

from bot.app.demo import seed_demo
from bot.app.review_builder import build_review
from bot.core.periods import THIS_SPRINT
from bot.render.charts import (
    initiative_chart,
    initiative_figure,
    segment_chart,
    segment_figure,
)
from bot.render.figures import THUMBNAIL_WIDTH_PX
from bot.storage.db import session_factory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")


def thumbnail_px(points: float, figure) -> float:
    """How many pixels ``points`` span once the image is scaled to thumbnail width."""
    width_px = figure.get_figwidth() * figure.dpi
    return points * figure.dpi / 72 * THUMBNAIL_WIDTH_PX / width_px


@pytest.mark.parametrize("width", [1200, 900, 360])
def test_initiative_chart_is_a_png_exactly_as_wide_as_asked(width):
    png = initiative_chart(fleet_initiative(), width_px=width)
    assert png_size(png)[0] == width
    assert pixels(png).shape[1] == width


def test_initiative_chart_is_not_blank():
    image = pixels(initiative_chart(fleet_initiative()))
    assert image[..., :3].std() > 0.05
    rgb = (image[..., :3] * 255).astype(np.uint32)
    distinct = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    assert len(distinct) > 50


def test_every_text_and_line_stays_legible_at_thumbnail_width():
    figure = initiative_figure(fleet_initiative(), width_px=1200)
    figure.canvas.draw()
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert texts
    for text in texts:
        assert thumbnail_px(text.get_fontsize(), figure) >= 8.5, text.get_text()
    series = [line for line in figure.findobj(Line2D) if line.get_xydata().shape[0] > 10]
    assert series
    for line in series:
        assert thumbnail_px(line.get_linewidth(), figure) >= 2


def test_several_metrics_are_laid_out_in_two_columns():
    figure = initiative_figure(fleet_initiative())
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert len(panels) == 4
    columns = {round(ax.get_subplotspec().colspan.start) for ax in panels}
    assert columns == {0, 1}


def test_a_single_metric_gets_the_full_width():
    figure = initiative_figure(initiative(metrics=[metric()]))
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 1


def test_a_metric_without_data_says_no_data_instead_of_an_empty_axis():
    figure = initiative_figure(initiative(metrics=[metric(before=None, after=None)]))
    texts = [t.get_text() for t in figure.findobj(Text)]
    assert "no data" in texts
    assert "no samples recorded yet" in " ".join(texts)


def test_panels_show_name_status_baseline_target_and_unit():
    figure = initiative_figure(initiative(metrics=[metric(before=21, after=14)]))
    texts = " | ".join(t.get_text() for t in figure.findobj(Text))
    assert "Deployment time" in texts
    assert "on track · 21 → 14 min" in texts
    assert "baseline 40 min" in texts and "target 12 min" in texts
    assert figure.axes[0].get_ylabel() == "min"


def test_dates_are_labelled_in_the_period_time_zone():
    # Midnight in Auckland on Nov 16 is still Nov 15 in UTC.
    period = sprint(start=date(2026, 11, 16), timezone="Pacific/Auckland")
    figure = initiative_figure(initiative(metrics=[metric(period=period)], period=period))
    figure.canvas.draw()
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert "Nov 16" in labels
    assert "Nov 15" not in labels


def test_long_names_are_shortened_to_fit_their_panel():
    long_name = "A metric whose name goes on " * 10
    chart = initiative(long_name, metrics=[metric(long_name), metric(long_name, key="two")])
    figure = initiative_figure(chart)
    for ax in figure.axes:
        for line in ax.get_title(loc="left").splitlines():
            assert len(line) <= 24


def test_the_same_review_renders_the_same_bytes():
    assert initiative_chart(fleet_initiative()) == initiative_chart(fleet_initiative())


def test_a_long_hourly_history_still_renders():
    period = sprint(days=14)
    metrics = [
        metric(f"Metric {n}", period=period, history_days=76, every=timedelta(hours=1))
        for n in range(4)
    ]
    assert len(metrics[0].history) > 2000
    png = initiative_chart(initiative(metrics=metrics, period=period))
    assert png_size(png)[0] == 1200


def test_segment_chart_is_none_for_a_metric_without_segments():
    assert segment_chart(metric(), sprint()) is None


def test_segment_chart_is_a_png_with_before_and_after_per_segment():
    chart = fleet_initiative()
    png = segment_chart(chart.metrics[0], chart.period)
    assert png is not None
    assert png_size(png)[0] == 1200
    assert pixels(png)[..., :3].std() > 0.05


def test_segment_chart_highlights_the_segment_that_regressed_while_the_total_improved():
    chart = fleet_initiative()
    figure = segment_figure(chart.metrics[0], chart.period)
    assert figure is not None
    labels = {t.get_text(): t for t in figure.axes[0].get_yticklabels()}
    assert set(labels) == {"Total", "region=APAC", "region=EU", "region=US"}
    assert labels["region=APAC"].get_color() == "#cf222e"
    assert labels["region=EU"].get_color() != "#cf222e"
    texts = " | ".join(t.get_text() for t in figure.findobj(Text))
    assert "41 → 33%" in texts or "41% → 33%" in texts


def test_segment_chart_keeps_regressions_when_there_are_too_many_segments():
    segments = {f"site={n:02d}": (50.0, 60.0) for n in range(30)}
    segments["site=zz-worst"] = (50.0, 20.0)
    reviewed = metric(
        "Uptime",
        unit="%",
        direction="up",
        baseline=40,
        target=99,
        before=50,
        after=58,
        segments=segments,
    )
    figure = segment_figure(reviewed, sprint())
    assert figure is not None
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert "site=zz-worst" in labels
    assert "more segments not shown" in figure.axes[0].get_title(loc="left")


def test_the_chart_module_never_imports_pyplot():
    code = (
        "import sys, bot.render.charts, builders; "
        "bot.render.charts.initiative_chart(builders.fleet_initiative()); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_demo_chart_marks_ships_steps_and_forecasts_legibly(engine):
    sessions = session_factory(engine)
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    seed_demo(sessions, "T1", now)
    with sessions() as session:
        review = build_review(session, "T1", THIS_SPRINT, now)
    fleet = next(i for i in review.initiatives if i.key == "fleet-update")

    figure = initiative_figure(fleet, width_px=1200)
    figure.canvas.draw()

    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    words = " | ".join(t.get_text() for t in texts)
    assert "shipped: Regional mirrors" in words and "shipped: Automatic rollback" in words
    assert "step Nov " in words
    assert words.count("reached ") >= 3  # the forecast beside each target in sight
    for text in texts:
        assert thumbnail_px(text.get_fontsize(), figure) >= 8.5, text.get_text()
