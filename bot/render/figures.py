"""The look shared by every chart: size for Slack's thumbnails, fonts, colours, encoding."""

from __future__ import annotations

import io
import textwrap
from typing import Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.core.review import Movement
from bot.render.common import shorten

# Names on charts are people's text: "$5 → $3" is money, never TeX, and a name such as
# "$\\x$" must not make drawing fail. The one rcParam set: no chart wants mathtext.
matplotlib.rcParams["text.parse_math"] = False

FIGURE_WIDTH_IN = 6.0
THUMBNAIL_WIDTH_PX = 360
FONT_PT = 11  # ≈ 9 px at thumbnail width: the smallest text any chart draws
TITLE_PT = 13
PANEL_TITLE_PT = 12
LINE_WIDTH_PT = 2.5
MAX_SEGMENT_ROWS = 16
MAX_PANELS = 16  # beyond this the image gets too tall to read; the last panel says so

INK = "#24292f"
MUTED = "#57606a"
SERIES = "#0969da"
PERIOD_SHADE = "#ddf4ff"
BEFORE_BAR = "#afb8c1"
MOVEMENT_COLOR = {
    Movement.IMPROVED: "#2da44e",
    Movement.REGRESSED: "#cf222e",
    Movement.FLAT: "#8c959f",
    Movement.UNKNOWN: "#8c959f",
}


def new_figure(width_px: int, height_in: float,
               layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A white figure ``width_px`` wide, drawn by Agg, never registered with pyplot."""
    if width_px < 100:
        raise ValueError(f"width_px must be at least 100, got {width_px}")
    figure = Figure(
        figsize=(FIGURE_WIDTH_IN, height_in),
        dpi=width_px / FIGURE_WIDTH_IN,
        layout=layout,
        facecolor="white",
    )
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    """Encode fast (zlib level 1: ~20% larger, twice as quick as the default).

    A figure made without pyplot is not registered anywhere, so dropping it frees it;
    ``Figure.clear()`` would only spend time resetting every axes first.
    """
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1}
    )
    return buffer.getvalue()


def style_axes(ax: Axes) -> None:
    """Sizes and colours set per axes, not through rcParams, which are process-global."""
    ax.tick_params(labelsize=FONT_PT, colors=MUTED, width=1.2, length=5)
    ax.xaxis.label.set(fontsize=FONT_PT, color=INK)
    ax.yaxis.label.set(fontsize=FONT_PT, color=INK)
    for spine in ax.spines.values():
        spine.set_color("#8c959f")
    ax.spines[["top", "right"]].set_visible(False)


def message_panel(ax: Axes, headline: str, detail: str) -> None:
    """A panel that says something in words instead of showing an empty axis."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#d0d7de")
    ax.text(
        0.5,
        0.56,
        headline,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=TITLE_PT + 5,
        color=MUTED,
        fontweight="bold",
    )
    ax.text(
        0.5,
        0.34,
        "\n".join(textwrap.wrap(shorten(detail, 80), 26)),
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=FONT_PT,
        color=MUTED,
    )
