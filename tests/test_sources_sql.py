"""The SQL source against real databases: PostgreSQL (a throwaway server) and SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sql_roles import roles_in
from sqlalchemy import Engine, create_engine, text

from bot.core.errors import SourceError
from metrics.resources import Resources
from metrics.sql import SqlSource, check_select, read_only_engine

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
ROWS = [("eu", 30.0), ("eu", 20.0), ("us", 40.0), ("apac", 12.0)]
LABEL = "xoxb-label-1"


@pytest.fixture
def warehouse(database_url: str) -> str:
    """A database with a `deploys` table, written through an ordinary engine."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("create table deploys (region varchar(8), minutes float, "
                                "label varchar(16))"))
        connection.execute(text("insert into deploys values (:r, :m, :label)"),
                           [{"r": r, "m": m, "label": LABEL} for r, m in ROWS])
    engine.dispose()
    return database_url


@pytest.fixture
def reader_url(warehouse: str) -> Iterator[str]:
    """The warehouse as the source must see it: on PostgreSQL, a role that may only read."""
    if not warehouse.startswith("postgresql"):
        yield warehouse
        return
    with roles_in(warehouse) as roles:
        yield roles.reader("deploys")


@pytest.fixture
def reader(reader_url: str) -> Iterator[Engine]:
    engine = read_only_engine(reader_url, 2.0)
    yield engine
    engine.dispose()


def sql(engine: Engine, query: str, **config: object) -> SqlSource:
    return SqlSource({"url": "(given)", "query": query, **config}, engine)


def test_it_reads_one_number(reader) -> None:
    readings = sql(reader, "select count(*) from deploys").read(AT)

    assert [(r.segment, r.value, r.observed_at) for r in readings] == [("", 4.0, AT)]


def test_rows_of_segment_and_value_become_segments_named_by_the_first_column(reader) -> None:
    readings = sql(reader, "select region, avg(minutes) from deploys group by region",
                   total="mean").read(AT)

    values = {r.segment: r.value for r in readings}
    assert values == {"region=apac": 12.0, "region=eu": 25.0, "region=us": 40.0,
                      "": pytest.approx((12 + 25 + 40) / 3)}


def test_a_row_with_a_null_segment_is_the_total(reader) -> None:
    query = ("select region, avg(minutes) as v from deploys group by region "
             "union all select null, avg(minutes) from deploys")

    readings = sql(reader, query, by="zone").read(AT)

    values = {r.segment: r.value for r in readings}
    assert values[""] == pytest.approx(25.5)
    assert values["zone=eu"] == 25.0


@pytest.mark.parametrize("query", [
    "delete from deploys",
    "select 1; delete from deploys",
    "with gone as (delete from deploys returning *) select count(*) from gone",
    "select * into copy from deploys",
    "update deploys set minutes = 0",
])
def test_a_write_statement_is_refused_before_it_reaches_the_database(query) -> None:
    with pytest.raises(SourceError) as caught:
        check_select(query)
    assert caught.value.permanent


def test_the_database_itself_refuses_a_write_that_slips_past_the_check(
        reader, warehouse) -> None:
    source = sql(reader, "select 1")
    source.query = "insert into deploys values ('xx', 1, 'y')"  # as if the check had a hole

    with pytest.raises(SourceError, match="read-only") as caught:
        source.read(AT)

    assert caught.value.permanent
    check = create_engine(warehouse)
    with check.connect() as connection:
        assert connection.execute(text("select count(*) from deploys")).scalar() == 4
    check.dispose()


def test_words_inside_strings_and_comments_are_not_taken_for_writes() -> None:
    query = "select count(*) from events -- no delete here\nwhere kind = 'update; drop'"
    assert check_select(query) == query


def test_a_slow_query_hits_the_statement_timeout(reader_url) -> None:
    engine = read_only_engine(reader_url, 0.3)
    slow = ("select pg_sleep(5)" if reader_url.startswith("postgresql") else
            "with recursive c(x) as (select 1 union all select x + 1 from c "
            "where x < 500000000) select count(*) from c")
    source = SqlSource({"url": reader_url, "query": slow, "timeout": 0.3}, engine)
    started = time.monotonic()

    with pytest.raises(SourceError, match="statement timeout") as caught:
        source.read(AT)

    assert time.monotonic() - started < 3
    assert not caught.value.permanent
    engine.dispose()


def test_an_unknown_table_is_a_permanent_error(reader) -> None:
    with pytest.raises(SourceError, match="refused the query") as caught:
        sql(reader, "select count(*) from nowhere").read(AT)
    assert caught.value.permanent


def test_a_value_that_is_not_a_number_is_a_permanent_error_that_does_not_show_it(
        reader) -> None:
    with pytest.raises(SourceError) as caught:
        sql(reader, "select max(label) from deploys").read(AT)
    assert caught.value.permanent
    assert caught.value.message == ("The query's value is not a finite number (it is a str); "
                                    "return a numeric column, e.g. cast(... as numeric).")


def test_a_segment_whose_value_is_not_a_number_is_named_by_its_row_not_its_content(
        reader) -> None:
    with pytest.raises(SourceError) as caught:
        sql(reader, "select label, label from deploys").read(AT)
    assert caught.value.message.startswith("The value in row 1 is not a finite number")
    assert LABEL not in caught.value.message


def test_a_source_built_from_config_reads_through_the_shared_read_only_engine(
        reader_url) -> None:
    resources = Resources(http=httpx.Client())
    try:
        source = SqlSource.from_config({"url": reader_url, "query": "select 41 + 1"},
                                       resources)
        assert source.engine is resources.engine_for(reader_url, source.timeout)
        readings = source.read(AT)
    finally:
        resources.close()

    assert readings[0].value == 42


def test_a_ratio_metric_total_from_its_segments_is_weighted_never_summed(reader) -> None:
    query = ("select region, avg(minutes), count(*) from deploys group by region "
             "order by region")

    readings = sql(reader, query, total="weighted").read(AT)

    values = {r.segment: r.value for r in readings}
    # eu averages 25 over 2 deploys, us 40 over 1, apac 12 over 1: 102 / 4, not 77.
    assert values[""] == pytest.approx((25 * 2 + 40 + 12) / 4)
    assert values["region=eu"] == pytest.approx(25.0)
    assert {name: value for name, value in values.items() if name.startswith("weight:")} == {
        "weight:region=apac": 1.0, "weight:region=eu": 2.0, "weight:region=us": 1.0}


def test_a_weight_column_and_a_weighted_total_go_together(reader) -> None:
    with pytest.raises(SourceError) as unweighted:
        sql(reader, "select region, minutes from deploys", total="weighted").read(AT)
    assert unweighted.value.permanent
    assert "A third column weighs the segments" in unweighted.value.message
