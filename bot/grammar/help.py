"""Every command's usage line and summary, and the help text built from them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.periods import PERIOD_USAGE


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    summary: str


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("define", 'define <key> "<name>" [why="..."] [who="..."] [how="..."] '
                    '[what="..."] [channel=#channel] [po=@user] [eng=@user]',
                    "create or change an initiative (Impact Mapping: why, who, how, what)"),
        CommandSpec("metric", 'metric add <initiative> <key> "<name>" baseline=<n> '
                    'target=<n> by=<YYYY-MM-DD> [unit=<unit>] [direction=up|down] '
                    '[question="..."] [noise=<n>] [stale=<7d>] [source=<kind>] '
                    "[source-config='{\"connection\": \"<name>\", ..., \"every\": \"1h\"}'] "
                    '[baseline-at=<YYYY-MM-DD>]',
                    "add or change a metric (Goal-Question-Metric) with baseline and target; "
                    "metric remove <initiative> <key> [confirm] removes one with its values"),
        CommandSpec("agree", "agree <initiative> [as=product|engineering]",
                    "sign off an initiative's criteria as its product or engineering owner"),
        CommandSpec("list", "list [all]", "list initiatives with status and owners"),
        CommandSpec("show", "show <initiative>", "show an initiative's criteria and metrics"),
        CommandSpec("record", "record <initiative>.<metric> <value> [at=<YYYY-MM-DD[THH:MM]>] "
                    "[segment=<label>=<value>]", "record a metric value by hand"),
        CommandSpec("review", f"review [<initiative>] [{PERIOD_USAGE}]",
                    "before → after review for a period (default: this sprint)"),
        CommandSpec("moved", f"moved [{PERIOD_USAGE}]",
                    "what moved across all initiatives, biggest first"),
        CommandSpec("schedule", "schedule <initiative>|#channel [sprint=<14d>] "
                    "[anchor=<YYYY-MM-DD>] [tz=<Area/City>] [fy-start=<month>] "
                    "[retro=<weekday>@<HH:MM>] [lead=<24h>] [quarterly=<N>d@<HH:MM>] "
                    "[off=sprint|quarter|all]",
                    "set the review cadence and when digests are posted: before each sprint "
                    "retro, before each quarter ends"),
        CommandSpec("history", "history <initiative>[.<metric>]",
                    "audit log of an initiative, or recent values of a metric"),
        CommandSpec("archive", "archive <initiative>",
                    "archive an initiative (its owners or an admin)"),
        CommandSpec("unarchive", "unarchive <initiative>",
                    "bring an archived initiative back as a draft to sign off again (its "
                    "owners or an admin)"),
        CommandSpec("shipped", 'shipped <initiative> "<deliverable>" '
                    "[at=<YYYY-MM-DD[THH:MM]>] [moves=<metric>,...]",
                    "record that a deliverable shipped (now, or at a local time); reviews "
                    "say what moved after it and charts mark it"),
        CommandSpec("deliverable", 'deliverable <initiative> "<deliverable>" '
                    "moves=<metric>,...|none",
                    "plan a deliverable with the metrics it is meant to move (the impact "
                    "map's what → how); deliverable remove <initiative> \"<deliverable>\" "
                    "removes one"),
        CommandSpec("pull", "pull [<initiative>|<initiative>.<metric>]",
                    "pull metric values from their sources now"),
        CommandSpec("export", "export <initiative>|all [format=arc42|csv|yaml]",
                    "export criteria as arc42 sections 1 and 10 (Markdown), values as CSV, "
                    "or criteria as YAML for `outcome apply`"),
        CommandSpec("push-token", "push-token create <name> | list | revoke <name>",
                    "admins: tokens pipelines send to the push API, one workspace each; "
                    "a new token is shown once"),
        CommandSpec("help", "help [<command>]", "this help"),
    )
}


def help_text(topic: str | None = None, prefix: str = "/outcome") -> str:
    """Usage of one command, or of all of them."""
    if topic:
        spec = COMMANDS[topic]
        return f"{prefix} {spec.usage}\n{spec.summary}"
    lines = [f"{prefix} {spec.usage}\n    {spec.summary}" for spec in COMMANDS.values()]
    return "Commands:\n" + "\n".join(lines)
