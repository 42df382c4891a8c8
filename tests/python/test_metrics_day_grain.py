"""Month and day questions from the monthly and daily facts, planned once per shape: the same answers as the hourly path.

One warehouse with two municipalities (GM0344 in the v1 layout for March and April,
GM0363 March in the legacy layout), generated with CBS-style suppression so days hold
confidential hours. Every standard question is asked per municipality and month (as
exports, the report and the API ask it) by a layer that uses the month- and day-grain twins
and by one that does not: value, confidential cells and completeness must be equal, and the
month questions must not read the hourly fact at all.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.snapshots import current_snapshot
from anpr_warehouse.standard_questions import QUESTIONS, answer, total_for

from .cli_support import load_and_build

pytestmark = pytest.mark.slow
ASKED = [("GM0344", None), ("GM0344", "2025-03-01"), ("GM0344", "2025-04-01"), ("GM0363", None), ("GM0363", "2025-03-01")]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("daygrain")
    warehouse = folder / "wh" / "anpr.duckdb"
    warehouse.parent.mkdir()
    requests = (
        GenerateRequest("GM0344", 2025, 3, seed=11, locations=4),
        GenerateRequest("GM0344", 2025, 4, seed=11, locations=4),
        GenerateRequest("GM0363", 2025, 3, seed=11, locations=4, layout="legacy"),
    )
    load_and_build(warehouse, (generate_delivery(r, folder / "deliveries") for r in requests), timeout=1800)
    return current_snapshot(warehouse)


@pytest.fixture(scope="module")
def daily(snapshot) -> MetricLayer:
    return MetricLayer.on_snapshot(snapshot)


@pytest.fixture(scope="module")
def hourly(snapshot) -> MetricLayer:
    return MetricLayer.on_snapshot(snapshot, day_grain=False)


def _where(municipality: str, month_start: str | None) -> list[str]:
    where = [f"{{{{ Entity('municipality') }}}} = '{municipality}'"]
    return where + ([f"{{{{ TimeDimension('metric_time', 'month') }}}} = '{month_start}'"] if month_start else [])


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.name)
def test_every_standard_question_answers_the_same_from_days(question, daily, hourly):
    for municipality, month_start in ASKED:
        got = answer(daily, question, municipality, month_start)
        expected = answer(hourly, question, municipality, month_start)
        assert got.render("json") == expected.render("json"), (question.name, municipality, month_start)
        if question.part_of:
            total, expected_total = (total_for(layer, question, municipality, month_start) for layer in (daily, hourly))
            assert total.render("json") == expected_total.render("json"), (question.name, "total")


def test_the_comparison_covers_lower_bounds_and_changes(daily):
    """The data behind the equality above holds days with confidential hours and a month-on-month change."""
    overview = next(q for q in QUESTIONS if q.name == "overview_month")
    rows = answer(daily, overview, "GM0344", None).rows
    assert any(not r["logistics_passages"].complete for r in rows)
    assert any(r["passages_change_vs_previous_month"].value is not None for r in rows)
    days = next(q for q in QUESTIONS if q.name == "overview_day")
    assert len(answer(daily, days, "GM0363", "2025-03-01").rows) == 31


@pytest.mark.parametrize("question_name", ["overview_month", "overview_day", "vehicle_mix_category", "locations"])
def test_month_and_day_questions_never_read_hourly_cells(question_name, daily, hourly):
    question = next(q for q in QUESTIONS if q.name == question_name)
    where = _where("GM0344", "2025-03-01")
    sql = daily.explain(list(question.metrics), list(question.group_by), where)
    assert ("fct_passages_daily" in sql or "fct_passages_monthly" in sql) and "fct_passages_hourly" not in sql
    assert "fct_passages_hourly" in hourly.explain(list(question.metrics), list(question.group_by), where)


def test_hours_are_still_answered_from_hourly_cells(daily, hourly):
    time_profile = next(q for q in QUESTIONS if q.name == "time_profile")
    assert "fct_passages_hourly" in daily.explain(list(time_profile.metrics), list(time_profile.group_by))
    by_hour = ["passages"], ["passage_hourly__hour_of_day"], _where("GM0344", None)
    assert "fct_passages_hourly" in daily.explain(*by_hour)
    assert daily.query(*by_hour).render("json") == hourly.query(*by_hour).render("json")
    assert len(daily.query(*by_hour).rows) == 24


def test_new_filter_values_reuse_the_plan(snapshot, hourly, monkeypatch):
    """A second municipality and another month cost no MetricFlow planning, and answer as a fresh layer does."""
    layer = MetricLayer.on_snapshot(snapshot)
    plans = []
    explain = layer.engine.explain
    monkeypatch.setattr(layer.engine, "explain", lambda **kw: plans.append(kw) or explain(**kw))
    metrics, group_by = ["logistics_passages", "zero_emission_share"], ["metric_time__month", "zone"]
    answers = {asked: layer.query(metrics, group_by, _where(*asked)) for asked in ASKED if asked[1]}
    assert len(plans) == 1
    for asked, result in answers.items():
        assert result.rows, asked
        assert result.render("json") == hourly.query(metrics, group_by, _where(*asked)).render("json"), asked


def test_a_warehouse_without_the_daily_fact_answers_from_hours(snapshot, tmp_path, hourly):
    """A snapshot published before the daily fact existed has no twins' table: the layer asks the metrics as named."""
    import shutil

    import duckdb

    database = tmp_path / snapshot.database.name
    shutil.copyfile(snapshot.database, database)
    with duckdb.connect(str(database)) as con:
        con.execute("drop table marts.fct_passages_daily")
        con.execute("drop table marts.fct_passages_monthly")
    layer = MetricLayer(database, snapshot.semantic_manifest)
    query = ["passages", "logistics_passages"], ["metric_time__month"], _where("GM0344", None)
    assert layer.query(*query).render("json") == hourly.query(*query).render("json")


@pytest.mark.parametrize("question_name", ["overview_month", "locations_zero_emission"])
def test_zero_emission_shares_read_the_daily_fuel_totals(question_name, daily, hourly):
    """The shares' numerators, denominators and confidential cells come from fct_fuel_totals_daily (8 rows per
    location-day instead of the fuel fact's 88) or, at month grain, fct_fuel_totals_monthly; the equality above proves
    the answers are the same."""
    question = next(q for q in QUESTIONS if q.name == question_name)
    where = _where("GM0344", "2025-03-01")
    sql = daily.explain(list(question.metrics), list(question.group_by), where)
    assert ("fct_fuel_totals_daily" in sql or "fct_fuel_totals_monthly" in sql) and "fct_passages_by_fuel" not in sql
    assert "fct_passages_by_fuel" in hourly.explain(list(question.metrics), list(question.group_by), where)


def test_questions_by_fuel_type_still_read_the_fuel_fact(daily, hourly):
    """The daily fuel totals have no fuel type: a question per fuel falls back to fct_passages_by_fuel, same answer."""
    by_fuel = ["zero_emission_passages", "fuel_passages"], ["metric_time__month", "fuel_type"], _where("GM0344", None)
    assert "fct_passages_by_fuel" in daily.explain(*by_fuel)
    assert daily.query(*by_fuel).render("json") == hourly.query(*by_fuel).render("json")
    fuels = {r["fuel_type"] for r in daily.query(*by_fuel).rows}
    assert {"ELEK", "DIES"} <= fuels


def test_the_fuel_comparison_covers_lower_bounds(daily, hourly):
    """Confidential electric or hydrogen cells occur in the data behind the shares, per location and month."""
    metrics, group_by = ["zero_emission_share", "logistics_zero_emission_share"], ["location", "metric_time__month"]
    for municipality in ("GM0344", "GM0363"):
        rows = daily.query(metrics, group_by, _where(municipality, None)).rows
        assert rows and any(not r["logistics_zero_emission_share"].complete for r in rows), municipality
        assert daily.query(metrics, group_by, _where(municipality, None)).render("json") == hourly.query(
            metrics, group_by, _where(municipality, None)
        ).render("json")


NEW_PROCESS = """
import json, sys
from pathlib import Path
from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.snapshots import current_snapshot
layer = MetricLayer.on_snapshot(current_snapshot(Path(sys.argv[1])))
result = layer.query(json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]))
print(json.dumps({"engine_built": layer._planner._engine is not None, "answer": result.render("json")}))
"""


def test_a_new_process_answers_from_stored_plans_without_building_the_engine(snapshot, hourly):
    """Export and report processes reuse the plans of earlier processes on the same semantic manifest."""
    import json

    metrics, group_by = ["passages", "zero_emission_share"], ["metric_time__month", "location"]

    def run(where: list[str]) -> dict:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                NEW_PROCESS,
                str(snapshot.database.parent.parent.parent / "anpr.duckdb"),
                *map(json.dumps, (metrics, group_by, where)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = run(_where("GM0344", "2025-03-01"))
    assert first["engine_built"]  # nobody asked this shape before: planned, and stored
    second = run(_where("GM0363", "2025-03-01"))  # same shape, other values, new process
    assert not second["engine_built"]
    assert second["answer"] == hourly.query(metrics, group_by, _where("GM0363", "2025-03-01")).render("json")
    assert len(json.loads(second["answer"])["rows"]) == 4 * 1  # four locations, one month


EXPORT_PROCESS = """
import json, sys
from pathlib import Path
from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.question_batch import answers
from anpr_warehouse.snapshots import current_snapshot
from anpr_warehouse.standard_questions import QUESTIONS
layer = MetricLayer.on_snapshot(current_snapshot(Path(sys.argv[1])))
asked = answers(layer, QUESTIONS, "GM0363", "2025-03-01", totals=True)
print(json.dumps({"engine_built": layer._planner._engine is not None, "answers": {k: v.render("json") for k, v in asked.items()}}))
"""


def test_planning_ahead_leaves_an_export_nothing_to_plan(snapshot, daily, monkeypatch):
    """`anpr build`'s last step (`plan_ahead` on the new snapshot) stores every shape an export asks."""
    import json
    import shutil
    from collections import OrderedDict

    from anpr_warehouse import plans
    from anpr_warehouse.commands import _plan_ahead
    from anpr_warehouse.question_batch import answers

    shutil.rmtree(snapshot.folder.parent / "plan-cache", ignore_errors=True)
    monkeypatch.setattr(plans, "_planners", OrderedDict())  # nothing planned in this process either
    warehouse = snapshot.folder.parent.parent / "anpr.duckdb"
    _plan_ahead(warehouse)  # what `anpr build` does after publishing (ANPR_PLAN_AHEAD unset)
    proc = subprocess.run([sys.executable, "-c", EXPORT_PROCESS, str(warehouse)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not done["engine_built"]
    expected = answers(daily, QUESTIONS, "GM0363", "2025-03-01", totals=True)
    assert done["answers"] == {k: v.render("json") for k, v in expected.items()}


ADHOC = ["logistics_passages", "zero_emission_share"]  # the vendor API benchmark's ad-hoc question (bench_service.py)


@pytest.mark.parametrize("group_by", [["metric_time__month", "zone"], ["metric_time__month", "location"], ["zone"]])
def test_month_questions_read_the_monthly_facts_and_answer_the_same(group_by, snapshot, hourly):
    """At month grain (or with no time at all) the monthly facts answer, not the days or hours: same numbers,
    confidential cells and completeness as the hourly cells, over a month range as the API asks it."""
    months = MetricLayer.on_snapshot(snapshot)
    days = MetricLayer.on_snapshot(snapshot, month_grain=False)
    for municipality in ("GM0344", "GM0363"):
        where = _where(municipality, None) + [
            "{{ TimeDimension('metric_time', 'month') }} >= '2025-03-01'",
            "{{ TimeDimension('metric_time', 'month') }} <= '2025-04-01'",
        ]
        sql = months.explain(ADHOC, group_by, where)
        assert "fct_passages_monthly" in sql and "fct_fuel_totals_monthly" in sql
        assert not any(f in sql for f in ("fct_passages_daily", "fct_fuel_totals_daily", "_hourly", "fct_passages_by_fuel"))
        assert "fct_passages_daily" in days.explain(ADHOC, group_by, where)
        got = months.query(ADHOC, group_by, where)
        assert got.rows, (municipality, group_by)
        assert got.render("json") == hourly.query(ADHOC, group_by, where).render("json"), (municipality, group_by)
        assert got.render("json") == days.query(ADHOC, group_by, where).render("json"), (municipality, group_by)


def test_month_sums_carry_the_confidential_cells_of_their_days(daily, hourly):
    """A month with a suppressed hour inside is a lower bound from the monthly fact too (never complete, never zero)."""
    group_by = ["metric_time__month", "location"]
    rows = daily.query(["passages", "logistics_passages"], group_by, _where("GM0344", None)).rows
    assert any(not r["logistics_passages"].complete and r["logistics_passages"].confidential_cells > 0 for r in rows)
    assert "fct_passages_monthly" in daily.explain(["logistics_passages"], group_by, _where("GM0344", None))


@pytest.mark.parametrize(
    ("group_by", "where"),
    [
        (["metric_time"], []),  # a bare metric_time means the finest grain: days, not months
        (["metric_time__day"], []),
        (["metric_time__week"], []),
        (["metric_time__month"], ["{{ TimeDimension('metric_time', 'day') }} >= '2025-03-15'"]),
    ],
)
def test_day_questions_are_not_answered_from_months(group_by, where, daily, hourly):
    where = _where("GM0344", None) + where
    sql = daily.explain(["passages"], group_by, where)
    assert "fct_passages_monthly" not in sql and "fct_passages_daily" in sql
    assert daily.query(["passages"], group_by, where).render("json") == hourly.query(["passages"], group_by, where).render("json")


@pytest.mark.parametrize(
    "metrics",
    [ADHOC, ["passages", "logistics_passages_change_vs_previous_month"], ["category_passages", "zero_emission_passages"]],
)
def test_the_api_answers_a_month_range_as_metricflow_does(metrics, snapshot, tmp_path):
    """/v1/query answers a month range of a month-grouped, time-local question by slicing the question's answer for
    every month (cached per snapshot): the same rows as MetricFlow with the range as a filter. A month-on-month change
    needs the month before the range, so it is asked with the range, as before."""
    from anpr_warehouse.service.keys import ANALYST, ApiKey
    from anpr_warehouse.service.query import QueryRequest, run_query, time_local
    from anpr_warehouse.service.state import Caller, SnapshotContext

    ctx = SnapshotContext(snapshot, MetricLayer.on_snapshot(snapshot), tmp_path)
    analyst = Caller(ApiKey("k1", ANALYST, "2026-01-01"), None)
    vendor = Caller(ApiKey("k2", "v", "2026-01-01"), frozenset({"GM0344"}))
    sliced = all(time_local(ctx.layer, m) for m in metrics)
    assert sliced == ("logistics_passages_change_vs_previous_month" not in metrics)
    for group_by in (["metric_time__month", "location"], ["metric_time__month", "zone"]):
        for month_from, month_to in (("2025-03", "2025-03"), ("2025-04", "2025-04"), ("2025-03", "2025-04"), (None, "2025-03")):
            for caller in (analyst, vendor):
                body = QueryRequest(metrics=metrics, group_by=group_by, month_from=month_from, month_to=month_to)
                got = run_query(ctx, caller, body, ctx.catalogue)
                where = [] if caller.municipalities is None else ["{{ Entity('municipality') }} in ('GM0344')"]
                where += [f"{{{{ TimeDimension('metric_time', 'month') }}}} >= '{month_from}-01'"] if month_from else []
                where += [f"{{{{ TimeDimension('metric_time', 'month') }}}} <= '{month_to}-01'"] if month_to else []
                expected = ctx.layer.query(metrics, group_by, where)
                assert got.rows, (metrics, group_by, month_from, month_to)
                assert got.render("json") == expected.render("json"), (metrics, group_by, month_from, month_to)
    every_month = [k for k in ctx.computed if k[0] == "every month"]
    assert len(every_month) == (4 if sliced else 0)  # two group-bys x two callers, whatever the number of ranges
