"""Splitting Block Kit messages keeps room for the lines it adds after packing.

Written against surviving mutants of ``bot/render/blocks.py``'s ``split_messages``: blocks
are packed up to Slack's total text budget less a reserve, because the "Part i of n" line
is inserted only once the number of messages is known, after packing.
"""

from __future__ import annotations

from bot.render.blocks import (
    MAX_BLOCK_TEXT_PER_MESSAGE,
    MAX_BLOCKS_PER_MESSAGE,
    split_messages,
    validate_message,
)

RESERVE = 200  # what split_messages keeps free for its "part" and "continued" lines


def section(size: int, mark: str = "x") -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mark * size}}


def text_size(message: dict) -> int:
    size = 0
    for block in message["blocks"]:
        if block["type"] == "section":
            size += len(block["text"]["text"])
        elif block["type"] == "context":
            size += sum(len(e["text"]) for e in block["elements"])
    return size


def test_the_text_reserve_keeps_a_continued_message_with_its_part_line_within_slacks_limit():
    # Twelve 1000-character sections would fill a message to exactly 12,000 characters;
    # the "Part 2 of n" line inserted afterwards must not push it over.
    groups = [([section(1000, str(i % 10))], "") for i in range(24)]

    messages = split_messages(groups, "Outcome review")

    assert len(messages) > 1
    for message in messages:
        assert validate_message(message) == []
        assert text_size(message) <= MAX_BLOCK_TEXT_PER_MESSAGE
    assert messages[1]["blocks"][0]["elements"][0]["text"].startswith("Part 2 of ")


def test_a_message_is_filled_up_to_the_text_limit_less_the_reserve_and_no_further():
    size = (MAX_BLOCK_TEXT_PER_MESSAGE - RESERVE) // 10  # ten of these fill the budget exactly
    groups = [([section(size)], "") for _ in range(20)]

    messages = split_messages(groups, "Outcome review")

    assert [len(m["blocks"]) for m in messages] == [10, 11]  # the second starts with its part
    assert text_size(messages[0]) == MAX_BLOCK_TEXT_PER_MESSAGE - RESERVE


def test_a_group_too_big_for_one_message_continues_under_its_name_within_the_limits():
    group = [section(1000) for _ in range(30)]

    messages = split_messages([(group, "Fleet")], "Fleet review")

    assert len(messages) == 3
    for number, message in enumerate(messages, start=1):
        assert validate_message(message) == []
        assert message["text"] == f"Fleet review (part {number} of 3)"
    assert messages[1]["blocks"][1]["elements"][0]["text"] == "*Fleet* (continued)"
    sections = sum(1 for m in messages for b in m["blocks"] if b["type"] == "section")
    assert sections == 30


def test_the_block_count_leaves_two_blocks_for_the_lines_added_after_packing():
    groups = [([section(10)], "") for _ in range(120)]

    messages = split_messages(groups, "Outcome review")

    assert [len(m["blocks"]) for m in messages] == [48, 49, 25]
    assert all(len(m["blocks"]) <= MAX_BLOCKS_PER_MESSAGE for m in messages)


def test_a_single_message_has_no_part_line_and_the_plain_fallback():
    messages = split_messages([([section(10)], "")], "A & B")

    assert messages == [{"text": "A &amp; B", "blocks": [section(10)]}]
