"""Hold-out phrasings, written after the question parser was finished and never used to
tune it: the hit rate on them is what a new user would see."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.periods import PeriodSpec
from bot.grammar.ask import Intent, Question
from tests.ask_corpus import ASK_BACK, NOT_UNDERSTOOD


def period(kind: str, **fields: Any) -> PeriodSpec:
    return PeriodSpec(kind, **fields)

def q(intent: Intent, initiative: str | None = None, metric: str | None = None,
      when: PeriodSpec | None = None, vs: PeriodSpec | None = None, **fields: Any) -> Question:
    return Question(intent, initiative, metric, when, vs, **fields)


FLEET_BOTH = (ASK_BACK, ("fleet-update", "fleet-monitoring"))
ALL_FOUR = (ASK_BACK, ("fleet-update", "self-serve", "checkout", "fleet-monitoring"))

HOLDOUT: list[tuple] = [
    # --- MOVED ---
    ("hey what moved last sprint?",
     q(Intent.MOVED, when=period("last_sprint"), movement="")),
    ("anything improve in checkout this month? 📈",
     q(Intent.MOVED, "checkout", when=period("this_month"), movement="improved")),
    ("what regressed since Nov 2",
     q(Intent.MOVED, when=period("since", start=date(2026, 11, 2)), movement="regressed")),
    ("wat changed in the last 2 weeks",
     q(Intent.MOVED, when=period("last_days", days=14), movement="")),
    ("what's gotten worse for onboarding since last sprint",
     q(Intent.MOVED, "self-serve", when=period("this_sprint"), movement="regressed")),
    ("quick q: what changed in Q3?",
     q(Intent.MOVED, when=period("quarter", number=3), movement="")),
    ("what moved for fleet monitoring between Oct 5 and Oct 19",
     q(Intent.MOVED, "fleet-monitoring",
       when=period("between", start=date(2026, 10, 5), end=date(2026, 10, 19)),
       movement="")),
    ("anything change since dec 10?",
     q(Intent.MOVED, when=period("since", start=date(2025, 12, 10)), movement="")),
    ("wht got better over the past 3 weeks for the fleet update",
     q(Intent.MOVED, "fleet-update", when=period("last_days", days=21),
       movement="improved")),

    # --- HOW ---
    ("how's checkout doing?", q(Intent.HOW, "checkout")),
    ("quick q - how is payment latency looking", q(Intent.HOW, "checkout", "latency")),
    ("how is self serve onbaording going", q(Intent.HOW, "self-serve")),
    ("how are we doing on alert noise?", q(Intent.HOW, "fleet-monitoring", "alerts")),
    ("hows the fleet update going this quarter",
     q(Intent.HOW, "fleet-update", when=period("this_quarter"))),
    ("how's onboarding's csat pls", q(Intent.HOW, "self-serve", "csat")),
    ("how many devices are on the latest firmware now?",
     q(Intent.HOW, "fleet-update", "adoption")),
    ("how are the automatic rollbacks looking for fleet-update",
     q(Intent.HOW, "fleet-update", "rollback")),

    # --- STATUS ---
    ("what's off track?", q(Intent.STATUS, statuses=("off track",))),
    ("anything at risk or off track rn?",
     q(Intent.STATUS, statuses=("at risk", "off track"))),
    ("which initiatives are behind?", q(Intent.STATUS, statuses=("off track", "at risk"))),
    ("what's on track 👍", q(Intent.STATUS, statuses=("on track",))),
    ("have we acheived any of our targets yet?", q(Intent.STATUS, statuses=("achieved",))),
    ("are we in trouble anywhere?", q(Intent.STATUS, statuses=("off track", "at risk"))),

    # --- STALE ---
    ("which metrics are stale?", q(Intent.STALE)),
    ("any metrics with no data?", q(Intent.STALE)),
    ("stale metrcs pls", q(Intent.STALE)),
    ("hey, which metrics haven't got any data yet", q(Intent.STALE)),

    # --- SHIPPED ---
    ("what shipped last week?", q(Intent.SHIPPED, when=period("last_week"))),
    ("what did we release for checkout this sprint",
     q(Intent.SHIPPED, "checkout", when=period("this_sprint"))),
    ("anything shipped for onboarding since Nov 16 🚀",
     q(Intent.SHIPPED, "self-serve", when=period("since", start=date(2026, 11, 16)))),
    ("what got releasd in october?", q(Intent.SHIPPED, when=period("month", number=10))),

    # --- WHEN ---
    ("when will checkout hit its target?", q(Intent.WHEN, "checkout")),
    ("when do we expect payment latency to reach the goal",
     q(Intent.WHEN, "checkout", "latency")),
    ("eta on the fleet update hitting target?", q(Intent.WHEN, "fleet-update")),
    ("when will activation get to targt", q(Intent.WHEN, "self-serve", "activation")),
    ("when are we going to hit our targets?", q(Intent.WHEN)),

    # --- WHY ---
    ("why did activation drop last week?",
     q(Intent.WHY, "self-serve", "activation", period("last_week"))),
    ("why is alert noise up", q(Intent.WHY, "fleet-monitoring", "alerts")),
    ("whyd the conversion rate go down this month",
     q(Intent.WHY, "checkout", "conv", period("this_month"))),
    ("why did support tickets spike in Nov?",
     q(Intent.WHY, "fleet-update", "tickets", period("month", number=11))),
    ("why did fleet update's deployment time get worse?",
     q(Intent.WHY, "fleet-update", "deploy")),

    # --- COMPARE ---
    ("compare last sprint vs this sprint",
     q(Intent.COMPARE, when=period("last_sprint"), vs=period("this_sprint"))),
    ("Q3 vs Q2 for checkout?",
     q(Intent.COMPARE, "checkout", when=period("quarter", number=3),
       vs=period("quarter", number=2))),
    ("how does this month compare to last month",
     q(Intent.COMPARE, when=period("this_month"), vs=period("last_month"))),
    ("compare october and november for self-serve onboarding",
     q(Intent.COMPARE, "self-serve", when=period("month", number=10),
       vs=period("month", number=11))),

    # --- WHO ---
    ("who owns checkout?", q(Intent.WHO, "checkout", who="owners")),
    ("who's the owner of self serve onboarding", q(Intent.WHO, "self-serve", who="owners")),
    ("who signed off on the fleet update?", q(Intent.WHO, "fleet-update", who="signoffs")),
    ("who aproved fleet monitoring", q(Intent.WHO, "fleet-monitoring", who="signoffs")),

    # --- HELP ---
    ("help", q(Intent.HELP)),
    ("hey 👋", q(Intent.HELP)),
    ("what can you do?", q(Intent.HELP)),
    ("hi outcomes, how do i use you", q(Intent.HELP)),

    # --- ambiguous ---
    ("how's fleet doing?", FLEET_BOTH),
    ("who owns the fleet stuff", FLEET_BOTH),
    ("how is the project doing?", ALL_FOUR),

    # --- unanswerable ---
    ("what's the weather in berlin tomorrow", NOT_UNDERSTOOD),
    ("can you book me a meeting room at 3pm", NOT_UNDERSTOOD),
    ("write me a haiku about kubernetes", NOT_UNDERSTOOD),

    # --- follow-ups in a thread ---
    ("and latency?", q(Intent.HOW, "checkout", "latency"), "how's checkout doing?"),
    ("what about this sprint?",
     q(Intent.MOVED, when=period("this_sprint"), movement=""), "what moved last sprint?"),
    ("and for onboarding?",
     q(Intent.SHIPPED, "self-serve", when=period("last_week")),
     "what shipped for checkout last week?"),
    ("who owns it?", q(Intent.WHO, "checkout", who="owners"), "how is checkout doing"),
    ("and last quarter?",
     q(Intent.HOW, "fleet-update", when=period("last_quarter")),
     "how's fleet update doing this quarter"),
    ("what improved?",
     q(Intent.MOVED, "checkout", when=period("last_month"), movement="improved"),
     "what regressed in checkout last month?"),
    ("why did time to first dashboard go up?",
     q(Intent.WHY, "self-serve", "ttfd"), "how is self-serve doing"),
    ("just the regressions pls",
     q(Intent.MOVED, when=period("last_week"), movement="regressed"),
     "what moved last week"),
    ("and who signed off on it?",
     q(Intent.WHO, "checkout", who="signoffs"), "who owns checkout?"),
]
