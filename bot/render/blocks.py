"""A review as Slack Block Kit payloads (plain dicts), split to stay inside Slack's limits.

Nothing here talks to Slack: the sending layer posts what :func:`review_messages` or
:func:`initiative_messages` return. :func:`validate_blocks` checks the limits Slack enforces
on raw dicts (slack_sdk's model classes would, raw dicts are not checked before the API).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from bot.core.review import InitiativeReview, MetricReview, Movement, Review, SegmentReview
from bot.render.common import (
    STATUS_EMOJI,
    all_metrics,
    before_after,
    change_text,
    drivers_text,
    local_time,
    percent,
    progress_bar,
    shipped_lines,
    shorten,
    status_counts,
    step_text,
    target_text,
    unmeasured_lines,
)
from bot.render.mrkdwn import escape, fit

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS_PER_MESSAGE = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000
# Not documented: past roughly 12-13k characters of block text Slack answers
# `msg_blocks_too_long`, whatever the per-block limits say.
MAX_BLOCK_TEXT_PER_MESSAGE = 12_000

MAX_SEGMENTS_LISTED = 12
MAX_TOP_MOVERS = 5

_TEXT_TYPES = {"plain_text", "mrkdwn"}
_KNOWN_BLOCKS = {"header", "section", "context", "divider", "image", "actions", "rich_text"}


def review_messages(review: Review) -> list[Message]:
    """The whole review: a summary, then every initiative, in as many messages as needed."""
    counts = _counts_line(all_metrics(review.initiatives))
    summary = [
        _header(review.title),
        _context(
            [
                f"{escape(shorten(review.period_label, 300))} · generated "
                f"{review.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC · "
                f"{len(review.initiatives)} initiative(s)"
            ]
        ),
        _section(counts or "_No metrics to review._"),
    ]
    movers = review.ranked_movers()[:MAX_TOP_MOVERS]
    if movers:
        lines = [
            f"• {escape(shorten(i.name, 80))} › *{escape(shorten(m.definition.name, 120))}* "
            f"{escape(before_after(m.change, m.definition.unit))} ({m.change.verdict})"
            for i, m in movers
        ]
        summary.append(_section("*What moved most*\n" + "\n".join(lines)))
    groups = [(summary, "")]
    for initiative in review.initiatives:
        groups.append(
            ([{"type": "divider"}, *initiative_blocks(initiative)], shorten(initiative.name, 200))
        )
    fallback = f"{review.title} — {review.period_label}: {_plain_counts(review)}"
    return split_messages(groups, fallback)


def initiative_messages(initiative: InitiativeReview) -> list[Message]:
    """One initiative as message payloads (one unless it has very many metrics)."""
    fallback = f"{initiative.name} — {initiative.period.label}: {initiative.what_moved}"
    return split_messages(
        [(initiative_blocks(initiative), shorten(initiative.name, 200))], fallback
    )


def initiative_blocks(initiative: InitiativeReview) -> list[Block]:
    """Header, why and period, what moved, then one section per metric.

    More than ~45 metrics exceed one message: post :func:`initiative_messages` instead.
    """
    period = initiative.period
    zone = period.timezone
    blocks = [
        _header(initiative.name),
        _section(
            f"*Why:* {escape(shorten(initiative.why, 1500)) or '_not written yet_'}\n"
            f"*Period:* {escape(shorten(period.label, 200))} · {period.dates_text()}"
        ),
        _context(
            [
                f"*What moved:* {escape(shorten(initiative.what_moved, 1500))}",
                f"Before = the level of the week before {local_time(period.start, zone)}, "
                "after = of the period's last week (single values where data is sparse; "
                f"data as of {local_time(initiative.data_time, zone)})",
            ]
        ),
    ]
    blocks += [_section(metric_text(metric)) for metric in initiative.metrics]
    shipped = [f"• {escape(shorten(line, 600))}" for line in shipped_lines(initiative)]
    shipped += [f"• :warning: {escape(shorten(line, 400))}"
                for line in unmeasured_lines(initiative)]
    if shipped:
        blocks.append(_section(fit("*Shipped in the period*\n" + "\n".join(shipped),
                                   MAX_SECTION_TEXT)))
    if not initiative.metrics:
        blocks.append(_section("_No metrics defined yet: add one with `/outcome metric`._"))
    return blocks


def metric_text(metric: MetricReview) -> str:
    """One metric as mrkdwn, at most MAX_SECTION_TEXT characters."""
    definition = metric.definition
    unit = definition.unit
    lines = [
        f"*{escape(shorten(definition.name, 200))}*   {STATUS_EMOJI[metric.status]} "
        f"*{metric.status.value}* — {escape(shorten(metric.status_reason, 300))}"
    ]
    if metric.change.after is not None:
        lines.append(
            f"{escape(before_after(metric.change, unit))}   "
            f"change {escape(change_text(metric.change, unit))} · "
            f"{escape(metric.change.verdict)}"
        )
    step = step_text(metric.change, unit)
    if step:
        lines.append(f"_{escape(step)}_")
    drivers = drivers_text(metric)
    if drivers:
        lines.append(f"_{escape(shorten(drivers, 400))}_")
    progress = ""
    if metric.progress is not None:
        progress = f"{progress_bar(metric.progress)} {percent(metric.progress)} toward "
    lines.append(progress + escape(shorten(target_text(definition), 200)))
    hidden = metric.hidden_regressions[:MAX_SEGMENTS_LISTED]
    for segment in hidden:
        lines.append(
            f":warning: *{escape(shorten(segment.segment, 100))}* regressed while "
            f"the total improved: {escape(before_after(segment.change, unit))}"
        )
    others = [s for s in metric.segments if not s.regressed_while_total_improved]
    others = others[: MAX_SEGMENTS_LISTED - len(hidden)]
    if others:
        lines.append("_Segments:_ " + " · ".join(_segment_item(s, unit) for s in others))
    omitted = len(metric.segments) - len(hidden) - len(others)
    if omitted:
        lines.append(f"_…and {omitted} more segment(s), shown in the segment chart_")
    return fit("\n".join(lines), MAX_SECTION_TEXT)


def _segment_item(segment: SegmentReview, unit: str) -> str:
    text = f"{escape(shorten(segment.segment, 60))} {escape(before_after(segment.change, unit))}"
    if segment.change.movement is Movement.REGRESSED:
        text += " (regressed)"
    return text


def split_messages(groups: Iterable[tuple[list[Block], str]], fallback: str) -> list[Message]:
    """Pack groups of blocks into messages within the block count and total text limits.

    ``fallback`` is plain text (it is escaped here) for notifications and screen readers.

    A group (an initiative) starts a new message rather than straddle two, when it fits in
    one; a group too big for one message is continued under a "(continued)" context line
    naming it. No block is ever dropped.
    """
    reserve = 200  # room for the "part i of n" and "continued" context lines
    messages: list[list[Block]] = [[]]

    def fits(blocks: list[Block], extra: list[Block]) -> bool:
        return (
            len(blocks) + len(extra) <= MAX_BLOCKS_PER_MESSAGE - 2
            and _text_size(blocks) + _text_size(extra) <= MAX_BLOCK_TEXT_PER_MESSAGE - reserve
        )

    for group, name in groups:
        if fits(messages[-1], group):
            messages[-1].extend(group)
            continue
        if messages[-1] and fits([], group):
            messages.append(list(group))
            continue
        for index, block in enumerate(group):
            if not fits(messages[-1], [block]):
                messages.append([])
                if index and name:
                    messages[-1].append(_context([f"*{escape(name)}* (continued)"]))
            messages[-1].append(block)
    messages = [blocks for blocks in messages if blocks]
    total = len(messages)
    payloads = []
    for number, blocks in enumerate(messages, start=1):
        text = fallback if total == 1 else f"{fallback} (part {number} of {total})"
        if total > 1 and number > 1:
            blocks.insert(0, _context([f"Part {number} of {total}"]))
        payloads.append({"text": fit(escape(text), MAX_MESSAGE_TEXT), "blocks": blocks})
    return payloads


def validate_message(message: Message) -> list[str]:
    """Violations of Slack's limits in one ``{"text", "blocks"}`` payload."""
    problems = []
    text = message.get("text", "")
    if not isinstance(text, str) or not text.strip():
        problems.append("/text: a fallback text is required")
    elif len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"/text: {len(text)} characters (max {MAX_MESSAGE_TEXT})")
    return problems + validate_blocks(message.get("blocks", []))


def validate_blocks(blocks: list[Block]) -> list[str]:
    """Violations of Slack's Block Kit limits, each prefixed with a JSON pointer."""
    problems = []
    if len(blocks) > MAX_BLOCKS_PER_MESSAGE:
        problems.append(f"/blocks: {len(blocks)} blocks (max {MAX_BLOCKS_PER_MESSAGE})")
    size = _text_size(blocks)
    if size > MAX_BLOCK_TEXT_PER_MESSAGE:
        problems.append(
            f"/blocks: {size} characters of text in all blocks (max {MAX_BLOCK_TEXT_PER_MESSAGE})"
        )
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        kind = block.get("type")
        if kind not in _KNOWN_BLOCKS:
            problems.append(f"{where}/type: unknown block type {kind!r}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > MAX_BLOCK_ID:
                problems.append(f"{where}/block_id: longer than {MAX_BLOCK_ID} characters")
            if block_id in seen_ids:
                problems.append(f"{where}/block_id: {block_id!r} is used twice")
            seen_ids.add(block_id)
        problems += _check_block(block, where)
    return problems


def _check_block(block: Block, where: str) -> list[str]:
    kind = block["type"]
    if kind == "header":
        return _check_text(block.get("text"), f"{where}/text", MAX_HEADER_TEXT, plain_only=True)
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            return [f"{where}: a section needs text or fields"]
        problems = []
        if text is not None:
            problems += _check_text(text, f"{where}/text", MAX_SECTION_TEXT)
        if fields is not None:
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(f"{where}/fields: {len(fields)} fields (max {MAX_SECTION_FIELDS})")
            for number, field in enumerate(fields):
                problems += _check_text(field, f"{where}/fields/{number}", MAX_FIELD_TEXT)
        return problems
    if kind == "context":
        elements = block.get("elements") or []
        problems = [] if elements else [f"{where}/elements: a context needs elements"]
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            problems.append(
                f"{where}/elements: {len(elements)} elements (max {MAX_CONTEXT_ELEMENTS})"
            )
        for number, element in enumerate(elements):
            if element.get("type") in _TEXT_TYPES:
                problems += _check_text(element, f"{where}/elements/{number}", MAX_CONTEXT_TEXT)
        return problems
    return []


def _check_text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in _TEXT_TYPES:
        return [f"{where}: expected a text object (plain_text or mrkdwn)"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}/type: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}/text: must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}/text: {len(text)} characters (max {limit})"]
    return []


def _text_size(value: Any) -> int:
    """Characters of text in blocks: every ``text`` string, however deeply nested."""
    if isinstance(value, list):
        return sum(_text_size(item) for item in value)
    if isinstance(value, dict):
        text = value.get("text")
        own = len(text) if isinstance(text, str) else 0
        return own + sum(_text_size(v) for v in value.values() if not isinstance(v, str))
    return 0


def _header(text: str) -> Block:
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": shorten(text, MAX_HEADER_TEXT) or "–",
            "emoji": True,
        },
    }


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(mrkdwn, MAX_SECTION_TEXT)}}


def _context(lines: list[str]) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": fit(line, MAX_CONTEXT_TEXT)}
            for line in lines[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _counts_line(metrics: list[MetricReview]) -> str:
    return " · ".join(
        f"{STATUS_EMOJI[status]} {count} {status.value}" for status, count in status_counts(metrics)
    )


def _plain_counts(review: Review) -> str:
    counts = status_counts(all_metrics(review.initiatives))
    return ", ".join(f"{count} {status.value}" for status, count in counts) or "no metrics"
