"""Block Kit payloads: every message within Slack's limits, nothing dropped, user text escaped."""

from __future__ import annotations

import json

import pytest
from builders import fleet_initiative, initiative, metric, review

from bot.render.blocks import (
    MAX_BLOCK_TEXT_PER_MESSAGE,
    MAX_BLOCKS_PER_MESSAGE,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    initiative_blocks,
    initiative_messages,
    metric_text,
    review_messages,
    validate_blocks,
    validate_message,
)
from bot.render.mrkdwn import escape

LONG = "Reduce the time a regional fleet rollout takes, end to end, " * 80


def huge_review():
    """120 metrics over three initiatives, with very long names, reasons and many segments."""
    initiatives = []
    for number in range(3):
        metrics = [
            metric(
                f"M{number:01d}{index:03d} {LONG}",
                key=f"m{index}",
                unit="requests/min",
                direction="up",
                baseline=100,
                target=500,
                before=200,
                after=150 + index,
                segments={f"region={r:02d} {LONG[:80]}": (200, 100 + r) for r in range(40)},
            )
            for index in range(40)
        ]
        initiatives.append(
            initiative(f"Initiative {number} {LONG}", metrics, key=f"i{number}", why=LONG * 3)
        )
    return review(*initiatives, title="Quarterly review " + LONG)


def section_texts(messages):
    return [
        block["text"]["text"]
        for message in messages
        for block in message["blocks"]
        if block["type"] == "section"
    ]


def all_mrkdwn(messages):
    texts = []
    for message in messages:
        for block in message["blocks"]:
            if block["type"] == "section":
                texts.append(block["text"]["text"])
            if block["type"] == "context":
                texts += [element["text"] for element in block["elements"]]
    return texts


def test_long_reviews_split_into_messages_under_fifty_blocks():
    messages = review_messages(huge_review())
    assert len(messages) > 1
    for message in messages:
        assert validate_message(message) == []
        assert len(message["blocks"]) <= MAX_BLOCKS_PER_MESSAGE
    json.dumps(messages)  # plain JSON-serialisable dicts


def test_no_metric_is_dropped_when_a_review_is_split():
    messages = review_messages(huge_review())
    texts = "\n".join(section_texts(messages))
    for number in range(3):
        for index in range(40):
            assert f"*M{number}{index:03d} " in texts


def test_split_messages_say_which_part_they_are_and_what_they_continue():
    messages = review_messages(huge_review())
    total = len(messages)
    assert messages[1]["text"].endswith(f"(part 2 of {total})")
    first_block_texts = [m["blocks"][0]["elements"][0]["text"] for m in messages[1:]]
    assert all(text.startswith("Part ") for text in first_block_texts)
    assert any("(continued)" in text for text in all_mrkdwn(messages))


def test_one_initiative_with_many_metrics_becomes_several_valid_thread_messages():
    many = initiative(metrics=[metric(f"Metric {n}", key=f"m{n}") for n in range(120)])
    assert len(initiative_blocks(many)) > MAX_BLOCKS_PER_MESSAGE
    messages = initiative_messages(many)
    assert len(messages) >= 3
    assert all(validate_message(message) == [] for message in messages)
    assert sum(text.startswith("*Metric ") for text in section_texts(messages)) == 120


def test_a_small_review_fits_in_one_message():
    messages = review_messages(review(fleet_initiative()))
    assert len(messages) == 1
    assert validate_message(messages[0]) == []


def test_initiative_blocks_show_before_after_change_progress_and_status():
    blocks = initiative_blocks(fleet_initiative())
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Device fleet on the latest firmware",
            "emoji": True,
        },
    }
    text = "\n".join(section_texts([{"blocks": blocks}]))
    assert "21 min → 14 min" in text
    assert "change -7 min (-33%)" in text
    assert "52% → 66%" in text and "+14 pp (+27%)" in text
    assert ":large_green_circle: *on track*" in text
    assert "toward target 12 min by 2027-03-01" in text
    assert ":red_circle: *off track* — at this pace closes only" in text
    assert ":grey_question: *no data* — no samples recorded yet" in text


def test_a_segment_that_regressed_while_the_total_improved_is_flagged():
    text = metric_text(fleet_initiative().metrics[0])
    assert ":warning: *region=APAC* regressed while the total improved: 41% → 33%" in text
    assert "region=EU 55% → 74%" in text


def test_dates_are_given_in_the_initiative_time_zone():
    context = initiative_blocks(fleet_initiative())[2]["elements"]
    assert "Nov 16 00:00 CET" in context[1]["text"]
    assert "Europe/Berlin" in initiative_blocks(fleet_initiative())[1]["text"]["text"]


def test_user_text_is_escaped_in_mrkdwn_and_kept_literal_in_headers():
    hostile = "<!channel> <script>alert(1)</script> & co"
    messages = review_messages(review(initiative(hostile, [metric(hostile)], why=hostile)))
    for text in [*all_mrkdwn(messages), messages[0]["text"]]:
        assert "<!channel>" not in text and "<script>" not in text
        assert "& co" not in text
    assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in (
        "\n".join(all_mrkdwn(messages))
    )
    headers = [b["text"]["text"] for b in messages[0]["blocks"] if b["type"] == "header"]
    assert hostile in headers


def test_escape_replaces_exactly_the_three_control_characters():
    assert escape("a & b < c > d * _") == "a &amp; b &lt; c &gt; d * _"


def test_cutting_long_text_never_leaves_half_an_entity():
    text = metric_text(metric("&" * 5000))
    assert len(text) <= MAX_SECTION_TEXT
    first_line = text.splitlines()[0]
    assert first_line.count("&") == first_line.count("&amp;")


def test_long_names_fit_the_header_limit():
    blocks = initiative_blocks(initiative("x" * 1000))
    assert len(blocks[0]["text"]["text"]) == MAX_HEADER_TEXT
    assert validate_blocks(blocks) == []


def section(text):
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("x")] * 51, "/blocks: 51 blocks (max 50)"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "/blocks/0/text/text: 151 characters (max 150)",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            "/blocks/0/text/type: must be plain_text",
        ),
        ([section("s" * 3001)], "/blocks/0/text/text: 3001 characters (max 3000)"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields: 11 fields (max 10)",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "/blocks/0/fields/0/text: 2001 characters (max 2000)",
        ),
        ([{"type": "section"}], "/blocks/0: a section needs text or fields"),
        ([section("")], "/blocks/0/text/text: must be a non-empty string"),
        ([section("t" * 2500)] * 5, "characters of text in all blocks (max 12000)"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "/blocks/0/elements: 11 elements (max 10)",
        ),
        ([{"type": "carousel"}], "/blocks/0/type: unknown block type 'carousel'"),
        (
            [{**section("a"), "block_id": "same"}, {**section("b"), "block_id": "same"}],
            "/blocks/1/block_id: 'same' is used twice",
        ),
    ],
)
def test_validate_blocks_catches_each_violation(blocks, expected):
    problems = validate_blocks(blocks)
    assert any(expected in problem for problem in problems), problems


def test_validate_message_checks_the_fallback_text():
    assert validate_message({"text": "", "blocks": [section("x")]}) == [
        "/text: a fallback text is required"
    ]
    assert validate_message({"text": "t" * 40_001, "blocks": []}) == [
        "/text: 40001 characters (max 40000)"
    ]


def test_the_text_budget_leaves_room_below_slacks_undocumented_limit():
    for message in review_messages(huge_review()):
        size = sum(len(t) for t in all_mrkdwn([message]))
        assert size <= MAX_BLOCK_TEXT_PER_MESSAGE
