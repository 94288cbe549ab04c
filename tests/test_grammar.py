from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.errors import UsageError
from bot.core.kinds import SignoffRole
from bot.core.periods import PeriodSpec
from bot.grammar import commands as g


def test_define_reads_key_quoted_name_and_impact_map_fields():
    command = g.parse('define fleet "Fleet update" why="Fewer site visits" po=@U123 '
                      "eng=@ben channel=#C999 tz=Europe/Berlin sprint=2w")
    assert command == g.Define("fleet", {
        "name": "Fleet update", "why": "Fewer site visits", "product_owner": "U123",
        "engineering_owner": "ben", "channel": "C999", "timezone": "Europe/Berlin",
        "sprint_days": 14,
    })


def test_slack_markup_is_not_the_grammars_to_read():
    """The Slack handlers unwrap ``<@U123|ana>`` (handlers.markup); the grammar reads words."""
    with pytest.raises(UsageError, match="po must name a user"):
        g.parse("define fleet po=<@U123|ana>")


def test_a_schedule_for_a_channel_takes_a_plain_channel_word():
    assert g.parse("schedule #C999 retro=thu@15:00") == g.Schedule(
        None, {}, {"sprint": {"retro_weekday": 3, "local_time": "15:00"}}, "C999")


def test_typographic_quotes_from_slack_are_understood():
    command = g.parse("define fleet “Fleet update” why=“Less toil”")
    assert command.fields["name"] == "Fleet update"
    assert command.fields["why"] == "Less toil"


def test_metric_add_parses_numbers_direction_dates_and_durations():
    command = g.parse('metric add fleet deploy "Deploy time" baseline=40 target=12 '
                      "by=2027-03-31 unit=min direction=lower noise=0.5 stale=2d")
    assert command == g.MetricAdd("fleet", "deploy", {
        "name": "Deploy time", "baseline_value": 40.0, "target_value": 12.0,
        "target_date": date(2027, 3, 31), "unit": "min", "direction": "down",
        "noise": 0.5, "stale_after_seconds": int(timedelta(days=2).total_seconds()),
    })


def test_record_takes_a_dotted_reference_value_time_and_segment():
    command = g.parse("record fleet.on-latest 61.5 at=2026-11-20T09:30 segment=region=EU")
    assert command.initiative == "fleet" and command.metric == "on-latest"
    assert command.value == 61.5
    assert command.segment == "region=EU"
    assert command.at.hour == 9


def test_review_with_and_without_initiative_and_period():
    assert g.parse("review") == g.ReviewCommand(None, PeriodSpec("this_sprint"))
    assert g.parse("review last quarter") == g.ReviewCommand(None, PeriodSpec("last_quarter"))
    assert g.parse("review fleet since 2026-10-01") == g.ReviewCommand(
        "fleet", PeriodSpec("since", start=date(2026, 10, 1)))


def test_agree_with_an_explicit_role_and_other_simple_commands():
    assert g.parse("agree fleet as=eng") == g.Agree("fleet", SignoffRole.ENGINEERING)
    assert g.parse("list") == g.ListInitiatives()
    assert g.parse("list all") == g.ListInitiatives(include_archived=True)
    assert g.parse("show fleet") == g.Show("fleet")
    assert g.parse("history fleet.deploy") == g.History("fleet", "deploy")
    assert g.parse("archive fleet") == g.Archive("fleet")
    assert g.parse("moved last sprint") == g.Moved(PeriodSpec("last_sprint"))
    assert g.parse("schedule fleet sprint=7d fy-start=apr") == g.Schedule(
        "fleet", {"sprint_days": 7, "fiscal_year_start_month": 4})
    assert g.parse("") == g.Help()
    assert g.parse("help record") == g.Help("record")


MALFORMED = [
    ("frobnicate", "Unknown command"),
    ("revew", "Did you mean `review`"),
    ('define fleet "Fleet update', "quotes"),
    ("define", "Missing the initiative key"),
    ("define Fleet!! name", "not a valid initiative key"),
    ("define this", "not a period word like 'this'"),
    ("record this.deploy 1", "does not name a metric"),
    ("define fleet Fleet update", "put it in quotes"),
    ("define fleet colour=red", "Unknown option colour="),
    ("define fleet tz=Mars/Olympus", "not an IANA time zone"),
    ("define fleet sprint=0d", "duration"),
    ("define fleet sprint=200d", "between 1d and 91d"),
    ("define fleet po=<<nobody>>", "must name a user"),
    ("define fleet why=a why=b", "given twice"),
    ("metric fleet deploy", "metric add"),
    ("metric add fleet", "Missing the initiative and metric keys"),
    ("metric add fleet deploy baseline=forty", "baseline must be a number"),
    ("metric add fleet deploy target=nan", "finite"),
    ("metric add fleet deploy by=31/03/2027", "date like 2026-12-31"),
    ("metric add fleet deploy by=2027-02-30", "by must be a date like 2026-12-31 (got "),
    ('metric add fleet deploy by="Mar 31"', "date like 2026-12-31"),
    ("metric add fleet deploy source-config='{\"url\": '", "at character"),
    ("metric add fleet deploy direction=sideways", "up (higher is better)"),
    ("metric add fleet deploy stale=soon", "duration like"),
    ("metric add fleet deploy source=oracle", "source must be a source kind (got 'oracle')"),
    ("metric add fleet deploy traget=5", "Did you mean target="),
    ("record fleet.deploy", "Missing the metric or the value"),
    ("record fleet 12", "does not name a metric"),
    ("record fleetdeploy 12", "does not name a metric"),
    ("record fleet.deploy twelve", "value must be a number"),
    ("record fleet.deploy 12 at=yesterday", "date or date-time"),
    ("record fleet.deploy 12 segment=EU", "label=value"),
    ("record fleet.deploy 12 13", "Unexpected"),
    ("review fleet next week", "not a period"),
    ("moved since someday", "not a date"),
    ("agree", "Missing the initiative key"),
    ("agree fleet as=boss", "product or engineering"),
    ("list everything", "takes no arguments"),
    ("show", "Missing the initiative key"),
    ("show fleet extra", "Unexpected"),
    ("schedule fleet", "at least one"),
    ("history", "Missing the initiative"),
    ("help nonsense", "no command"),
    ("define fleet why=" + "x" * 3001, "limit is 3000"),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_malformed_input_gets_a_specific_message(text, expected):
    with pytest.raises(UsageError) as error:
        g.parse(text)
    assert expected in str(error.value)


@pytest.mark.parametrize(("text", "command"), [
    ("define fleet colour=red", "define"),
    ("record fleet.deploy twelve", "record"),
    ("metric add fleet deploy baseline=forty", "metric add"),
])
def test_option_errors_show_the_commands_usage(text, command):
    with pytest.raises(UsageError) as error:
        g.parse(text)
    assert error.value.usage.startswith(command)


def test_help_lists_every_command():
    text = g.help_text()
    for name in g.COMMANDS:
        assert f"/outcome {name}" in text
