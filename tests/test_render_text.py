"""Markdown, HTML and terminal renderings of a review."""

from __future__ import annotations

import base64
import re

from builders import fleet_initiative, initiative, metric, review, sprint

from bot.render.charts import initiative_chart, segment_chart
from bot.render.text import review_html, review_markdown, review_terminal

HOSTILE = "Onboarding <script>alert('x')</script> & friends | more"


def hostile_review():
    return review(
        fleet_initiative(),
        initiative(
            HOSTILE,
            [
                metric(
                    HOSTILE,
                    key="hostile",
                    unit="%",
                    direction="up",
                    baseline=22,
                    target=40,
                    before=30,
                    after=33,
                )
            ],
            key="hostile",
            why="Grow <b>accounts</b> & keep\nthem",
        ),
    )


def fleet_charts():
    fleet = fleet_initiative()
    segments = segment_chart(fleet.metrics[0], fleet.period)
    assert segments is not None
    return {
        "fleet-update.png": initiative_chart(fleet, width_px=400),
        "fleet-update-on-latest-segments.png": segments,
    }


def test_markdown_has_a_table_row_per_metric_with_units():
    text = review_markdown(review(fleet_initiative()))
    assert "| Metric | Before | After | Change | Target | Progress | Status |" in text
    assert (
        "| Deployment time | 21 min | 14 min | -7 min (-33%) | target 12 min by 2027-03-01 "
        "| 93% | 🟢 on track: at this pace reaches target by 2027-03-01 |"
    ) in text
    assert "| Devices on the latest firmware | 52% | 66% | +14 pp (+27%) |" in text
    assert "| Failed updates rolled back automatically | – | – | – |" in text
    assert "❔ no data: no samples recorded yet" in text


def test_markdown_gives_why_what_moved_segments_and_local_dates():
    text = review_markdown(review(fleet_initiative()))
    assert "## Device fleet on the latest firmware" in text
    assert "**Why:** Every site visit costs a technician day." in text
    assert "**What moved:** Devices on the latest firmware" in text
    assert "region=APAC regressed while the total improved (41% → 33%)" in text
    assert "Nov 16 – Nov 29, 2026 (Europe/Berlin)" in text
    assert "data as of Nov 29 09:00 CET" in text


def test_markdown_shows_user_text_as_typed_never_as_markup():
    text = review_markdown(hostile_review())
    assert "&amp;" not in text and "&lt;" not in text
    assert "<script>" not in text and "<b>" not in text
    assert "## Onboarding \\<script\\>alert('x')\\</script\\> & friends | more" in text
    assert ("| Onboarding \\<script\\>alert('x')\\</script\\> & friends \\| more | 30% | 33% |"
            in text)
    assert "**Why:** Grow \\<b\\>accounts\\</b\\> & keep them" in text  # one line, no break


def test_markdown_links_the_charts_it_is_given():
    text = review_markdown(
        review(fleet_initiative()),
        {
            "fleet-update.png": "charts/fleet update.png",
            "fleet-update-on-latest-segments.png": "charts/segments.png",
            "extra.png": "charts/extra.png",
        },
    )
    assert "![Device fleet on the latest firmware](charts/fleet%20update.png)" in text
    assert "![Devices on the latest firmware by segment](charts/segments.png)" in text
    assert "## Other charts" in text and "(charts/extra.png)" in text
    assert "![" not in review_markdown(review(fleet_initiative()))


def test_html_is_a_standalone_page_with_embedded_charts():
    charts = fleet_charts()
    page = review_html(review(fleet_initiative()), charts)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 2
    assert base64.b64decode(uris[0]) == charts["fleet-update.png"]
    assert "<style>" in page and "http" not in page.split("<body>")[1]


def test_html_escapes_user_text():
    page = review_html(hostile_review(), {})
    assert "<script>" not in page and "<b>accounts" not in page
    assert "Onboarding &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in page
    assert "Grow &lt;b&gt;accounts&lt;/b&gt; &amp; keep" in page


def test_html_shows_the_numbers_and_the_status_reason():
    page = review_html(review(fleet_initiative()), {})
    assert '<td class="num">21 min</td>' in page and '<td class="num">14 min</td>' in page
    assert "at this pace closes only 72% of the gap by 2027-03-01" in page


def test_terminal_shows_before_arrow_after_with_units():
    text = review_terminal(review(fleet_initiative()))
    assert re.search(
        r"Deployment time\s+21 min\s+→\s+14 min\s+-7 min \(-33%\)\s+93%\s+on track", text
    )
    assert re.search(r"52%\s+→\s+66%", text)
    assert re.search(r"96 tickets/wk\s+→\s+101 tickets/wk", text)


def test_terminal_columns_line_up():
    lines = [
        line
        for line in review_terminal(review(fleet_initiative())).splitlines()
        if "→" in line and "What moved" not in line
        and not line.lstrip().startswith(("·", "!"))  # the notes under the table
    ]
    assert len(lines) == 4
    assert len({line.index("→") for line in lines}) == 1


def test_terminal_explains_statuses_that_need_attention():
    text = review_terminal(review(fleet_initiative()))
    assert "· Failed updates rolled back automatically: no data — no samples recorded yet" in text
    assert "! Devices on the latest firmware: region=APAC regressed" in text
    assert "data as of Nov 29 09:00 CET" in text


def test_terminal_uses_colour_only_when_asked():
    assert "\033[" not in review_terminal(review(fleet_initiative()))
    coloured = review_terminal(review(fleet_initiative()), color=True)
    assert "\033[32mon track\033[0m" in coloured
    assert "\033[31moff track\033[0m" in coloured


def test_terminal_strips_control_characters_from_user_text():
    sneaky = initiative("Fleet\033[2J\033[31m red", [metric("Deploy\rtime\x07")], key="s")
    text = review_terminal(review(sneaky))
    assert "\033" not in text and "\r" not in text and "\x07" not in text
    assert "Fleet[2J[31m red" in text


def test_long_metric_names_are_clipped_in_the_terminal_table():
    text = review_terminal(review(initiative(metrics=[metric("n" * 200)])))
    row = next(line for line in text.splitlines() if "→" in line and "nnn" in line)
    assert "n" * 39 + "…" in row and "n" * 41 not in row


def test_every_renderer_copes_with_an_initiative_without_metrics():
    empty = review(initiative(metrics=[], period=sprint()))
    assert "_No metrics defined yet._" in review_markdown(empty)
    assert "No metrics defined yet." in review_html(empty, {})
    assert "No metrics defined yet." in review_terminal(empty)
