"""Questions as people ask them, each with what it must be understood as.

``CATALOGUE`` is the workspace they are asked in: names with spaces, two initiatives that
both speak of a fleet, metrics whose names share words. ``TODAY`` is the day they are asked.
Each case is ``(text, expected)`` or ``(text, expected, previous)`` for a follow-up in a
thread, ``previous`` being the thread's last question.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.periods import PeriodSpec
from bot.grammar.ask import Catalogue, Intent, KnownInitiative, KnownMetric, Question

TODAY = date(2026, 12, 3)

CATALOGUE = Catalogue((
    KnownInitiative("fleet-update", "Device fleet on the latest firmware", (
        KnownMetric("adoption", "Devices on the latest firmware"),
        KnownMetric("deploy", "Deployment time"),
        KnownMetric("tickets", "Support tickets per week"),
        KnownMetric("touches", "Operator touchpoints per update"),
        KnownMetric("rollback", "Failed updates rolled back automatically"),
    )),
    KnownInitiative("self-serve", "Self-serve onboarding adoption", (
        KnownMetric("activation", "Accounts activated within 7 days"),
        KnownMetric("ttfd", "Time to first dashboard"),
        KnownMetric("csat", "Onboarding satisfaction"),
    )),
    KnownInitiative("checkout", "Checkout conversion", (
        KnownMetric("conv", "Checkout conversion rate"),
        KnownMetric("latency", "Payment latency p95"),
    )),
    KnownInitiative("fleet-monitoring", "Fleet monitoring", (
        KnownMetric("alerts", "Alert noise"),
    )),
))

ASK_BACK = "ask back"
NOT_UNDERSTOOD = "not understood"


def period(kind: str, **fields: Any) -> PeriodSpec:
    return PeriodSpec(kind, **fields)


def q(intent: Intent, initiative: str | None = None, metric: str | None = None,
      when: PeriodSpec | None = None, vs: PeriodSpec | None = None, **fields: Any
      ) -> Question:
    return Question(intent, initiative, metric, when, vs, **fields)


def ask_back(*keys: str) -> tuple[str, tuple[str, ...]]:
    return ASK_BACK, keys


M, H, S, ST, SH, W, Y, C, WHO, HELP = (Intent.MOVED, Intent.HOW, Intent.STATUS, Intent.STALE,
                                       Intent.SHIPPED, Intent.WHEN, Intent.WHY, Intent.COMPARE,
                                       Intent.WHO, Intent.HELP)
THIS_SPRINT, LAST_SPRINT = period("this_sprint"), period("last_sprint")
THIS_QUARTER, LAST_QUARTER = period("this_quarter"), period("last_quarter")
BEHIND = ("off track", "at risk")

HOW_ONBOARDING = q(H, "self-serve")
HOW_FLEET = q(H, "fleet-update")
WHY_DEPLOY = q(Y, "fleet-update", "deploy")

CASES: list[tuple[Any, ...]] = [
    # --- what moved, changed, improved, regressed, in a period
    ("what moved this sprint?", q(M, when=THIS_SPRINT)),
    ("What moved?", q(M)),
    ("what moved last sprint", q(M, when=LAST_SPRINT)),
    ("what moved in the previous sprint?", q(M, when=LAST_SPRINT)),
    ("what changed this quarter", q(M, when=THIS_QUARTER)),
    ("what changed last quarter?", q(M, when=LAST_QUARTER)),
    ("anything change since last sprint?", q(M, when=THIS_SPRINT)),
    ("what moved since Oct 1", q(M, when=period("since", start=date(2026, 10, 1)))),
    ("what moved since october 1st?", q(M, when=period("since", start=date(2026, 10, 1)))),
    ("what moved since 1 October", q(M, when=period("since", start=date(2026, 10, 1)))),
    ("what moved since 2026-11-01", q(M, when=period("since", start=date(2026, 11, 1)))),
    ("what moved since 10/1?", q(M, when=period("since", start=date(2026, 10, 1)))),
    ("what moved since monday", q(M, when=period("since", start=date(2026, 11, 30)))),
    ("what moved in the last 30 days?", q(M, when=period("last_days", days=30))),
    ("what changed over the past two weeks", q(M, when=period("last_days", days=14))),
    ("what moved in the past week", q(M, when=period("last_days", days=7))),
    ("changes in the last 90 days", q(M, when=period("last_days", days=90))),
    ("what moved last week", q(M, when=period("last_week"))),
    ("what moved this month", q(M, when=period("this_month"))),
    ("what moved last month?", q(M, when=period("last_month"))),
    ("what moved in Q3", q(M, when=period("quarter", number=3))),
    ("what moved in q3 2025", q(M, when=period("between", start=date(2025, 7, 1),
                                                end=date(2025, 9, 30)))),
    ("what moved in October", q(M, when=period("month", number=10))),
    ("what moved year to date", q(M, when=period("year_to_date"))),
    ("what moved ytd", q(M, when=period("year_to_date"))),
    ("what changed this year?", q(M, when=period("year_to_date"))),
    ("what moved between Oct 1 and Nov 15", q(M, when=period(
        "between", start=date(2026, 10, 1), end=date(2026, 11, 15)))),
    ("what moved from 2026-10-01 to 2026-10-31", q(M, when=period(
        "between", start=date(2026, 10, 1), end=date(2026, 10, 31)))),
    ("what improved this sprint", q(M, when=THIS_SPRINT, movement="improved")),
    ("what got better last quarter?", q(M, when=LAST_QUARTER, movement="improved")),
    ("any wins this sprint?", q(M, when=THIS_SPRINT, movement="improved")),
    ("what regressed?", q(M, movement="regressed")),
    ("what got worse since last sprint?", q(M, when=THIS_SPRINT, movement="regressed")),
    ("anything regress this quarter?", q(M, when=THIS_QUARTER, movement="regressed")),
    ("which metrics declined in the last 30 days",
     q(M, when=period("last_days", days=30), movement="regressed")),
    ("did anything get worse?", q(M, movement="regressed")),
    ("any regressions this sprint", q(M, when=THIS_SPRINT, movement="regressed")),
    ("what happened this sprint?", q(M, when=THIS_SPRINT)),
    ("what's new this sprint", q(M, when=THIS_SPRINT)),
    ("what moved in the checkout conversion this quarter",
     q(M, "checkout", when=THIS_QUARTER)),
    # --- typos and filler
    ("waht moved this sprnt", q(M, when=THIS_SPRINT)),
    ("what movd last sprint", q(M, when=LAST_SPRINT)),
    ("hey bot, anything regress this quarter?", q(M, when=THIS_QUARTER, movement="regressed")),
    ("hey @outcome what moved this sprint? :rocket:", q(M, when=THIS_SPRINT)),
    ("what moved this sprint?? 🚀🔥", q(M, when=THIS_SPRINT)),
    ("pls show stale metrics", q(ST)),
    ("can you tell me what changed this quater", q(M, when=THIS_QUARTER)),
    ("whta regresed last sprnt", q(M, when=LAST_SPRINT, movement="regressed")),
    ("what imporved this month", q(M, when=period("this_month"), movement="improved")),
    ("so um what moved?", q(M)),
    ("ok what changed in the last 30 dyas", q(M, when=period("last_days", days=30))),
    ("quick question: what moved this sprint", q(M, when=THIS_SPRINT)),
    ("What Moved This Sprint", q(M, when=THIS_SPRINT)),
    ("<@U0BOT> what moved", q(M)),
    # --- how is <initiative> doing
    ("how is self-serve doing?", HOW_ONBOARDING),
    ("how is onboarding doing?", HOW_ONBOARDING),
    ("how's onboarding going", HOW_ONBOARDING),
    ("how's the self-serve onboarding adoption looking", HOW_ONBOARDING),
    ("how is self serve onboarding doing", HOW_ONBOARDING),
    ("how's onbaording going?", HOW_ONBOARDING),
    ("status of onboarding", HOW_ONBOARDING),
    ("onboarding?", HOW_ONBOARDING),
    ("update on onboarding please", HOW_ONBOARDING),
    ("how is the device fleet doing", HOW_FLEET),
    ("how's the firmware rollout going", HOW_FLEET),
    ("how are the devices on the latest firmware", q(H, "fleet-update", "adoption")),
    ("how is fleet-update doing this sprint", q(H, "fleet-update", when=THIS_SPRINT)),
    ("how is fleet update doing last quarter", q(H, "fleet-update", when=LAST_QUARTER)),
    ("how's fleet monitoring doing", q(H, "fleet-monitoring")),
    ("how is checkout doing?", q(H, "checkout")),
    ("how's checkout conversion looking this month",
     q(H, "checkout", when=period("this_month"))),
    ("tell me about checkout", q(H, "checkout")),
    ("checkout's numbers", q(H, "checkout")),
    ("what about checkout?", q(H, "checkout")),
    ("how is deployment time doing", q(H, "fleet-update", "deploy")),
    ("how's payment latency", q(H, "checkout", "latency")),
    ("fleet-update.deploy", q(H, "fleet-update", "deploy")),
    ("how's the fleet doing", ask_back("fleet-update", "fleet-monitoring")),
    ("how is fleet going?", ask_back("fleet-update", "fleet-monitoring")),
    ("how are payments doing", q(H, "checkout", "latency")),
    ("how is billing doing", ask_back("fleet-update", "self-serve", "checkout",
                                      "fleet-monitoring")),
    ("how is it doing?", ask_back("fleet-update", "self-serve", "checkout",
                                  "fleet-monitoring")),
    # --- status: off track, at risk, on track, achieved
    ("what is off track?", q(S, statuses=("off track",))),
    ("what's off-track", q(S, statuses=("off track",))),
    ("anything off track 🚨", q(S, statuses=("off track",))),
    ("which metrics are at risk", q(S, statuses=("at risk",))),
    ("what's at risk this quarter", q(S, when=THIS_QUARTER, statuses=("at risk",))),
    ("what is on track?", q(S, statuses=("on track",))),
    ("what have we achieved", q(S, statuses=("achieved",))),
    ("which targets were reached", q(S, statuses=("achieved",))),
    ("what's behind?", q(S, statuses=BEHIND)),
    ("what is slipping", q(S, statuses=BEHIND)),
    ("anything in trouble?", q(S, statuses=BEHIND)),
    ("what should I worry about", q(S, statuses=BEHIND)),
    ("what's off track or at risk", q(S, statuses=("off track", "at risk"))),
    ("is checkout on track?", q(S, "checkout", statuses=("on track",))),
    ("what's at risk for onboarding", q(S, "self-serve", statuses=("at risk",))),
    ("wat is of track", q(S, statuses=("off track",))),
    # --- stale, no data
    ("which metrics have no data?", q(ST)),
    ("which metrics are stale", q(ST)),
    ("stale metrics", q(ST)),
    ("what's missing data", q(ST)),
    ("any metrics not reporting?", q(ST)),
    ("which numbers are out of date", q(ST)),
    ("what data is stale and why", q(ST)),
    ("show me metrics without data", q(ST)),
    ("stael metrics pls", q(ST)),
    # --- shipped
    ("what shipped this sprint?", q(SH, when=THIS_SPRINT)),
    ("what shipped last sprint", q(SH, when=LAST_SPRINT)),
    ("what did we ship this quarter", q(SH, when=THIS_QUARTER)),
    ("what was released last month", q(SH, when=period("last_month"))),
    ("what launched in the last 30 days", q(SH, when=period("last_days", days=30))),
    ("what did onboarding ship?", q(SH, "self-serve")),
    ("which deliverables went out this sprint", q(SH, when=THIS_SPRINT)),
    ("what shiped this sprint", q(SH, when=THIS_SPRINT)),
    # --- when will it reach its target
    ("when will onboarding reach its target?", q(W, "self-serve")),
    ("when will the fleet update hit its target", q(W, "fleet-update")),
    ("when will deployment time reach the target", q(W, "fleet-update", "deploy")),
    ("eta for checkout conversion", q(W, "checkout")),
    ("forecast for onboarding", q(W, "self-serve")),
    ("when do we hit the target on payment latency", q(W, "checkout", "latency")),
    ("by when will checkout reach target", q(W, "checkout")),
    ("when will we reach our targets?", q(W)),
    # --- why did it move
    ("why did deployment time move?", WHY_DEPLOY),
    ("why did deployment time drop", WHY_DEPLOY),
    ("why is onboarding off track", q(Y, "self-serve")),
    ("why did checkout conversion change last quarter", q(Y, "checkout", when=LAST_QUARTER)),
    ("what drove the support tickets down", q(Y, "fleet-update", "tickets")),
    ("explain the operator touchpoints", q(Y, "fleet-update", "touches")),
    ("why?", q(Y)),
    ("what caused the change in time to first dashboard", q(Y, "self-serve", "ttfd")),
    # --- compare two periods
    ("this sprint vs last", q(C, when=THIS_SPRINT, vs=LAST_SPRINT)),
    ("this sprint vs last sprint", q(C, when=THIS_SPRINT, vs=LAST_SPRINT)),
    ("compare this quarter with last quarter", q(C, when=THIS_QUARTER, vs=LAST_QUARTER)),
    ("this month compared to last month", q(C, when=period("this_month"),
                                            vs=period("last_month"))),
    ("this sprint versus the last one", q(C, when=THIS_SPRINT, vs=LAST_SPRINT)),
    ("compare onboarding this sprint vs last", q(C, "self-serve", when=THIS_SPRINT,
                                                 vs=LAST_SPRINT)),
    ("q3 vs q2", q(C, when=period("quarter", number=3), vs=period("quarter", number=2))),
    # --- who owns, who signed off
    ("who owns onboarding?", q(WHO, "self-serve", who="owners")),
    ("who's the owner of checkout", q(WHO, "checkout", who="owners")),
    ("who is responsible for the fleet update", q(WHO, "fleet-update", who="owners")),
    ("who signed off onboarding", q(WHO, "self-serve", who="signoffs")),
    ("who approved the checkout criteria", q(WHO, "checkout", who="signoffs")),
    ("has fleet monitoring been signed off?", q(WHO, "fleet-monitoring", who="signoffs")),
    ("who agreed to the fleet update targets", q(WHO, "fleet-update", who="signoffs")),
    ("owners of fleet monitoring", q(WHO, "fleet-monitoring", who="owners")),
    # --- help, and what it cannot answer
    ("help", q(HELP)),
    ("what can you do?", q(HELP)),
    ("hi", q(HELP)),
    ("hello bot", q(HELP)),
    ("", q(HELP)),
    ("what can I ask you", q(HELP)),
    ("make me a sandwich", NOT_UNDERSTOOD),
    ("blah blah", NOT_UNDERSTOOD),
    ("what's the weather in Berlin", NOT_UNDERSTOOD),
    ("🤷", q(HELP)),
    # --- follow-ups in a thread
    ("and last quarter?", q(H, "self-serve", when=LAST_QUARTER), HOW_ONBOARDING),
    ("what about last sprint?", q(H, "self-serve", when=LAST_SPRINT), HOW_ONBOARDING),
    ("why?", q(Y, "self-serve"), HOW_ONBOARDING),
    ("why", WHY_DEPLOY, q(H, "fleet-update", "deploy")),
    ("who owns it?", q(WHO, "self-serve", who="owners"), HOW_ONBOARDING),
    ("when will it hit the target?", q(W, "self-serve"), HOW_ONBOARDING),
    ("and checkout?", q(H, "checkout"), HOW_ONBOARDING),
    ("what about the fleet update", q(H, "fleet-update"), HOW_ONBOARDING),
    ("and last quarter?", q(M, when=LAST_QUARTER), q(M, when=THIS_SPRINT)),
    ("and in the last 30 days?", q(M, when=period("last_days", days=30), movement="regressed"),
     q(M, when=THIS_SPRINT, movement="regressed")),
    ("what shipped?", q(SH, "self-serve"), HOW_ONBOARDING),
    ("and the sprint before?", q(H, "self-serve", when=LAST_SPRINT), HOW_ONBOARDING),
    ("since oct 1?", q(H, "self-serve", when=period("since", start=date(2026, 10, 1))),
     HOW_ONBOARDING),
    ("who signed it off", q(WHO, "checkout", who="signoffs"), q(H, "checkout")),
]
