"""Plain-language questions ("what moved this sprint?") mapped onto the command grammar."""

from __future__ import annotations

import re
from datetime import date

from bot.core.errors import UsageError
from bot.core.periods import THIS_SPRINT, parse_period
from bot.grammar import commands as g

QUESTIONS = (
    "what moved this sprint?",
    "what moved last sprint?",
    "what moved this quarter? / last quarter?",
    "what moved since Oct 1?",
    "what moved in the last 30 days?",
    "how is <initiative> doing?",
    "what regressed? (optionally: this sprint, last quarter, ...)",
    "which metrics have no data?",
    "help",
)

# Who the question is addressed to ("@outcome what moved?"): a plain @word, as the Slack
# handlers write a mention of the bot.
_MENTION = re.compile(r"(?<!\S)@[\w.\-]+")


def question_help() -> str:
    return "I can answer:\n" + "\n".join(f"• {q}" for q in QUESTIONS)


def _period_words(text: str) -> list[str]:
    words = text.split()
    if words[:1] in (["in"], ["during"], ["over"], ["for"]):
        words = words[1:]
    if words[:1] == ["the"]:
        words = words[1:]
    return words


def parse_question(text: str, today: date | None = None) -> g.Command:
    """Map a question to a command, or raise UsageError listing what can be asked."""
    cleaned = _MENTION.sub(" ", text).strip().lower()
    cleaned = re.sub(r"[?!.]+\s*$", "", cleaned).strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    if cleaned in {"", "help", "hi", "hello", "what can you do", "what can you answer"}:
        return g.Help()
    match = re.fullmatch(r"(?:what|which metrics?|anything) (moved|changed|regressed|"
                         r"got worse|improved)(?: (.*))?", cleaned)
    if match:
        verb, rest = match[1], match[2] or ""
        period = parse_period(_period_words(rest), today) if rest else THIS_SPRINT
        only_regressed = verb in {"regressed", "got worse"}
        return g.Moved(period, only_regressed=only_regressed)
    match = re.fullmatch(r"how(?: is| are|'s) (?:the )?([a-z0-9][a-z0-9_-]*)(?: initiative)?"
                         r"(?: doing| going| looking)?(?: (.*))?", cleaned)
    if match:
        period = parse_period(_period_words(match[2]), today) if match[2] else THIS_SPRINT
        return g.ReviewCommand(match[1], period)
    if re.fullmatch(r"(?:which|what) metrics? (?:have|has|are)? ?(?:no|missing|stale) ?"
                    r"(?:data|values)?(?: or stale data)?", cleaned) or cleaned in {
                        "no data", "missing data", "stale data"}:
        return g.MissingData()
    raise UsageError(f"I don't know how to answer {text.strip()[:200]!r}.\n{question_help()}")
