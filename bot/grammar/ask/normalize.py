"""A question as words: mentions, emoji, punctuation and contractions taken out.

``"Hey @outcome, how's the Fleet update going?? :rocket:"`` becomes
``["hey", "how", "is", "the", "fleet", "update", "going"]``. Dates (``2026-10-01``,
``10/1``), dotted references (``fleet.deploy``) and keys with dashes stay one word.
"""

from __future__ import annotations

import re
import unicodedata

# "@outcome" as the Slack handlers write a mention of the bot, and Slack's own <@U123>.
_MENTION = re.compile(r"<[@#!][^>]*>|(?<!\S)@[\w.\-]+")
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-']+:")
_WORD = re.compile(r"[a-z0-9](?:[a-z0-9'/._\-]*[a-z0-9])?")

_CONTRACTIONS = (
    (re.compile(r"\b(how|what|who|where|when|why|that|it|there|which)'s\b"), r"\1 is"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (re.compile(r"\b(\w+)'re\b"), r"\1 are"),
    (re.compile(r"\b(\w+)'ll\b"), r"\1 will"),
    (re.compile(r"\b(\w+)'ve\b"), r"\1 have"),
    (re.compile(r"\b(\w+)'d\b"), r"\1 would"),
    (re.compile(r"\bi'm\b"), "i am"),
)


def _without_symbols(text: str) -> str:
    """Emoji and other pictographs out, accents off letters (``é`` → ``e``); letters, digits
    and punctuation stay."""
    kept = []
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if category == "Mn":  # an accent, or an emoji's variation selector
            continue
        kept.append(" " if category in ("So", "Sk", "Cf", "Cs", "Co") else char)
    return "".join(kept)


def words_of(text: str) -> list[str]:
    """The question's words, lower case, possessives dropped (``fleet's`` → ``fleet``)."""
    cleaned = _MENTION.sub(" ", text)
    cleaned = _without_symbols(cleaned.replace("\u2019", "'").replace("\u2018", "'"))
    cleaned = _EMOJI_CODE.sub(" ", cleaned.lower())
    for pattern, replacement in _CONTRACTIONS:
        cleaned = pattern.sub(replacement, cleaned)
    words = []
    for word in _WORD.findall(cleaned):
        word = re.sub(r"'s?$", "", word).replace("'", "")
        if word:
            words.append(word)
    return words
