"""A review as Markdown, a standalone HTML page, or plain text for a terminal.

The templates in ``templates/`` lay the text out; this module prepares every value they
show (numbers with units, dates in each initiative's time zone), so templates hold no
arithmetic. ``.html`` templates autoescape; Markdown backslash-escapes user text so it
shows as typed and never as markup (:mod:`bot.render.markdown`); terminal text keeps it as
written, apart from control characters.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.core.review import InitiativeReview, MetricReview, Review, Status
from bot.render.common import (
    NO_VALUE,
    STATUS_COLOR,
    STATUS_SYMBOL,
    all_metrics,
    change_text,
    drivers_text,
    initiative_chart_name,
    local_time,
    percent,
    segment_chart_name,
    segment_notes,
    shipped_lines,
    status_counts,
    step_text,
    target_text,
    unmeasured_lines,
    with_unit,
)
from bot.render.markdown import escape_inline

TERMINAL_NAME_WIDTH = 40
Paint = Callable[[str, str], str]
ANSI = {
    "bold": "\033[1m",
    "dim": "\033[2m",
    "red": "\033[31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "magenta": "\033[35m",
    "reset": "\033[0m",
}
STATUS_ANSI = {
    Status.ACHIEVED: "green",
    Status.ON_TRACK: "green",
    Status.AT_RISK: "yellow",
    Status.OFF_TRACK: "red",
    Status.NO_DATA: "dim",
    Status.STALE: "magenta",
    Status.NO_TARGET: "dim",
}
# Statuses worth a line of explanation under the terminal table.
ATTENTION = (Status.AT_RISK, Status.OFF_TRACK, Status.NO_DATA, Status.STALE)

_environment = Environment(
    loader=PackageLoader("bot.render"),
    autoescape=select_autoescape(
        enabled_extensions=("html", "html.j2"), default_for_string=False, default=False
    ),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class MetricRow:
    name: str
    before: str
    after: str
    change: str
    target: str
    progress: str
    status: Status
    reason: str

    @property
    def symbol(self) -> str:
        return STATUS_SYMBOL[self.status]

    @property
    def color(self) -> str:
        return STATUS_COLOR[self.status]


@dataclass
class InitiativeView:
    key: str
    name: str
    why: str
    period: str
    data_as_of: str
    what_moved: str
    rows: list[MetricRow]
    segment_notes: list[tuple[str, list[str], bool]]
    shipped: list[str] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)
    chart: str | None = None
    segment_charts: list[tuple[str, str]] = field(default_factory=list)


def review_markdown(review: Review, chart_paths: dict[str, str] | None = None) -> str:
    """Markdown with a table per initiative; ``chart_paths`` maps chart names to links.

    Chart names are :func:`~bot.render.common.initiative_chart_name` and
    :func:`~bot.render.common.segment_chart_name`; any other entries are linked at the end.
    """
    views, leftovers = _views(review, chart_paths or {})
    return _environment.get_template("review.md.j2").render(
        **_header(review),
        initiatives=views,
        leftovers=leftovers,
    )


def review_html(review: Review, charts: dict[str, bytes]) -> str:
    """A standalone HTML page with every chart embedded as a ``data:`` URI."""
    uris = {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for name, png in charts.items()
    }
    views, leftovers = _views(review, uris)
    return _environment.get_template("review.html.j2").render(
        **_header(review),
        initiatives=views,
        leftovers=leftovers,
    )


def review_terminal(review: Review, color: bool = False) -> str:
    """Aligned plain text; ANSI colours only when ``color`` is true."""
    paint = _painter(color)
    views, _ = _views(review, {})
    for view in views:
        for row in view.rows:
            row.name = _plain(row.name)
    sections = [
        (
            view,
            _table(view.rows, paint),
            [
                f"{row.name}: {row.status.value} — {row.reason}"
                for row in view.rows
                if row.status in ATTENTION
            ],
        )
        for view in views
    ]
    header = _header(review)
    return _environment.get_template("review.txt.j2").render(
        title=paint(_plain(header["title"]), "bold"),
        summary=header["summary"],
        period_label=_plain(header["period_label"]),
        generated=header["generated"],
        sections=sections,
        paint=paint,
        plain=_plain,
    )


def _header(review: Review) -> dict[str, str]:
    counts = status_counts(all_metrics(review.initiatives))
    return {
        "title": review.title,
        "period_label": review.period_label,
        "generated": f"{review.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "summary": ", ".join(f"{n} {status.value}" for status, n in counts) or "no metrics",
    }


def _views(
    review: Review, charts: dict[str, str]
) -> tuple[list[InitiativeView], list[tuple[str, str]]]:
    """One view per initiative, and the charts no initiative or metric claimed."""
    unclaimed = dict(charts)
    views = []
    for initiative in review.initiatives:
        view = _initiative_view(initiative)
        view.chart = unclaimed.pop(initiative_chart_name(initiative), None)
        for metric in initiative.metrics:
            link = unclaimed.pop(segment_chart_name(initiative, metric), None)
            if link is not None:
                view.segment_charts.append((metric.definition.name, link))
        views.append(view)
    return views, list(unclaimed.items())


def _initiative_view(initiative: InitiativeReview) -> InitiativeView:
    zone = initiative.period.timezone
    notes = []
    for metric in initiative.metrics:
        step = step_text(metric.change, metric.definition.unit)
        drivers = drivers_text(metric)
        lines = [line for line in (step, drivers) if line] + segment_notes(metric)
        if lines:
            notes.append((metric.definition.name, lines, bool(metric.hidden_regressions)))
    return InitiativeView(
        key=initiative.key,
        name=initiative.name,
        why=initiative.why,
        period=f"{initiative.period.label} · {initiative.period.dates_text()}",
        data_as_of=local_time(initiative.data_time, zone),
        what_moved=initiative.what_moved,
        rows=[_row(metric) for metric in initiative.metrics],
        segment_notes=notes,
        shipped=shipped_lines(initiative),
        unmeasured=unmeasured_lines(initiative),
    )


def _row(metric: MetricReview) -> MetricRow:
    definition, change = metric.definition, metric.change
    return MetricRow(
        name=definition.name,
        before=with_unit(change.before.value if change.before else None, definition.unit),
        after=with_unit(change.after.value if change.after else None, definition.unit),
        change=change_text(change, definition.unit),
        target=target_text(definition),
        progress=percent(metric.progress),
        status=metric.status,
        reason=metric.status_reason,
    )


def _table(rows: list[MetricRow], paint: Paint) -> list[str]:
    """Right-aligned numbers, a → between before and after, status last (coloured)."""
    if not rows:
        return ["No metrics defined yet."]
    names = [_clip(row.name, TERMINAL_NAME_WIDTH) for row in rows]
    columns = [
        ("Metric", names, "<"),
        ("Before", [_plain(r.before) for r in rows], ">"),
        ("", ["→"] * len(rows), "<"),
        ("After", [_plain(r.after) for r in rows], ">"),
        ("Change", [_plain(r.change) for r in rows], ">"),
        ("Progress", [r.progress for r in rows], ">"),
    ]
    widths = [max(len(title), *(len(cell) for cell in cells)) for title, cells, _ in columns]

    def line(cells: list[str]) -> str:
        return "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, _, align), width in zip(cells, columns, widths, strict=True)
        )

    lines = [paint(line([title for title, _, _ in columns]) + "  Status", "bold")]
    for index, row in enumerate(rows):
        cells = [column[index] for _, column, _ in columns]
        lines.append(f"{line(cells)}  {paint(row.status.value, STATUS_ANSI[row.status])}")
    return lines


def _painter(color: bool) -> Paint:
    def paint(text: str, style: str) -> str:
        return f"{ANSI[style]}{text}{ANSI['reset']}" if color and text else text

    return paint


_WHITESPACE = re.compile(r"\s+")


def _plain(text: str) -> str:
    """One line without control characters, so user text cannot move the cursor or recolour."""
    visible = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return _WHITESPACE.sub(" ", visible).strip()


def _clip(text: str, width: int) -> str:
    text = _plain(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown_cell(text: str) -> str:
    """Text shown as typed inside a Markdown table cell: one line, markup and pipes
    escaped."""
    return escape_inline(" ".join(text.split())).replace("|", "\\|") or NO_VALUE


def markdown_inline(text: str) -> str:
    """One line of Markdown shown as typed: newlines would end a list item or heading."""
    return escape_inline(" ".join(text.split()))


def markdown_link_target(target: str) -> str:
    return target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


_environment.filters.update(
    cell=markdown_cell,
    inline=markdown_inline,
    link=markdown_link_target,
    alt=lambda text: markdown_inline(text.replace("[", "(").replace("]", ")")),
)
