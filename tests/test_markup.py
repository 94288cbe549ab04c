"""Slack markup is unwrapped into the plain words the grammar reads, at the Slack edge, and
what the user typed reaches the grammar as typed."""

from __future__ import annotations

import pytest

from bot.grammar import commands as g
from handlers.markup import plain_text


@pytest.mark.parametrize(("slack", "plain"), [
    ("<@U123|ana>", "@U123"),
    ("<@U123>", "@U123"),
    ("<@W0ENTERPRISE|ana>", "@W0ENTERPRISE"),
    ("<#C999|fleet>", "#C999"),
    ("<#C999|>", "#C999"),
    ("<#C999>", "#C999"),
    ("<!here>", "@here"),
    ("<!channel>", "@channel"),
    ("<!subteam^S123|@oncall>", "@oncall"),
    ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
    ("<http://prometheus:9090>", "http://prometheus:9090"),
    ("<http://example.com|example.com>", "example.com"),
    ("<mailto:ana@example.com|ana@example.com>", "ana@example.com"),
    ("<https://x.test/q?a=1&amp;b=2>", "https://x.test/q?a=1&b=2"),
])
def test_a_reference_becomes_the_word_the_grammar_reads(slack: str, plain: str) -> None:
    assert plain_text(slack) == plain


def test_the_text_around_references_is_kept_as_it_was_typed() -> None:
    text = 'define fleet "Fleet" po=<@U1|ana> channel=<#C2|team> why="a &lt; b &amp; c"'

    assert plain_text(text) == 'define fleet "Fleet" po=@U1 channel=#C2 why="a < b & c"'


def test_typed_angle_brackets_are_decoded_once_and_never_become_a_reference() -> None:
    # Replies escape them again on the way out (tests/test_escaping.py).
    assert plain_text("&lt;!channel&gt; hello") == "<!channel> hello"
    assert plain_text("&amp;lt;b&amp;gt;") == "&lt;b&gt;"


def test_text_without_markup_is_unchanged() -> None:
    text = "record fleet.deploy 12 at=2026-11-20T09:30 segment=region=EU"

    assert plain_text(text) == text


def test_a_slash_command_with_mentions_parses_after_unwrapping() -> None:
    command = g.parse(plain_text('define fleet "Fleet" po=<@U123|ana> eng=<@U456> '
                                 "channel=<#C999|fleet>"))

    assert command == g.Define("fleet", {"name": "Fleet", "product_owner": "U123",
                                         "engineering_owner": "U456", "channel": "C999"})


def test_a_channel_schedule_parses_after_unwrapping() -> None:
    command = g.parse(plain_text("schedule <#C999|fleet> off=all"))

    assert command == g.Schedule(None, {}, {"off": ("sprint", "quarter")}, "C999")
