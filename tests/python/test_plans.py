"""Query shapes: which filter text becomes a bound value, and how a plan's SQL gets this query's values back."""

from __future__ import annotations

import json

import duckdb
import pytest
from metricflow.execution.execution_plan import SqlStatement
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from anpr_warehouse.plans import Plan, PlanCache, PlanStore, StoredStatement, bind, parametrize


def test_literals_become_sentinels_and_jinja_names_stay():
    templates, literals = parametrize(
        [
            "{{ Entity('municipality') }} in ('GM0344', 'GM0363')",
            "{{ TimeDimension('metric_time', 'month') }} >= '2025-01-01'",
            "{{ Dimension('location__name') }} = 'O''Brien'",
        ]
    )
    assert templates == [
        "{{ Entity('municipality') }} in ('__anpr_p0__', '__anpr_p1__')",
        "{{ TimeDimension('metric_time', 'month') }} >= '__anpr_p2__'",
        "{{ Dimension('location__name') }} = '__anpr_p3__'",
    ]
    assert literals == ["'GM0344'", "'GM0363'", "'2025-01-01'", "'O''Brien'"]


def test_same_shape_for_other_values_another_for_more_values():
    one, _ = parametrize(["{{ Entity('municipality') }} in ('GM0344')"])
    other, _ = parametrize(["{{ Entity('municipality') }} in ('GM0599')"])
    two, _ = parametrize(["{{ Entity('municipality') }} in ('GM0344', 'GM0599')"])
    assert one == other != two


def test_typed_literals_and_numbers_stay_sql():
    templates, literals = parametrize(
        ["{{ TimeDimension('metric_time', 'day') }} >= date '2025-03-01' - interval '1 day' and {{ Dimension('x__h') }} = 8"]
    )
    assert templates == [
        "{{ TimeDimension('metric_time', 'day') }} >= date '2025-03-01' - interval '1 day' and {{ Dimension('x__h') }} = 8"
    ]
    assert literals == []


def _statement(sql: str) -> SqlStatement:
    return SqlStatement(sql=sql, bind_parameter_set=SqlBindParameterSet())


def test_bound_as_parameters_the_value_is_never_sql_text():
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('a'), ('b')) as v(code)")
    _, literals = parametrize(["{{ Entity('zone') }} = 'a'' or ''1''=''1'"])
    sql, params = bind(_statement("select count(*) from t where code = '__anpr_p0__'"), literals, as_parameters=True)
    assert sql == "select count(*) from t where code = $anpr_p0"
    assert dict(params.param_dict) == {"anpr_p0": "a' or '1'='1"}
    assert con.execute(sql, dict(params.param_dict)).fetchone() == (0,)  # a value, not a condition


def test_bound_as_literals_gives_back_the_callers_sql():
    where = "{{ Entity('municipality') }} = 'GM0344'"
    templates, literals = parametrize([where])
    sql, params = bind(_statement("select * from t where municipality_code = '__anpr_p0__'"), literals, as_parameters=False)
    assert sql == "select * from t where municipality_code = 'GM0344'" and not params.param_dict


@pytest.mark.parametrize("as_parameters", [True, False])
def test_a_bound_date_compares_like_the_literal(as_parameters):
    con = duckdb.connect()
    con.execute("create table t as select date '2025-01-01' + to_months(i) as month from range(6) as r(i)")
    _, literals = parametrize(["x >= '2025-03-01'"])
    sql, params = bind(_statement("select count(*) from t where month >= '__anpr_p0__'"), literals, as_parameters)
    assert con.execute(sql, dict(params.param_dict) or None).fetchone() == (4,)


def test_plan_cache_keeps_the_most_recently_used():
    cache = PlanCache(size=2)
    plans = {k: Plan(_statement(f"select {k}")) for k in "abc"}
    cache.put(("a",), plans["a"])
    cache.put(("b",), plans["b"])
    assert cache.get(("a",)) is plans["a"]  # a is now the most recent
    cache.put(("c",), plans["c"])
    assert cache.get(("b",)) is None and cache.get(("a",)) is plans["a"] and len(cache) == 2
    assert not plans["a"].routed and Plan(_statement("x"), {"passages_daily": "passages"}).routed


def test_a_plan_takes_values_only_when_its_placeholders_are_intact():
    assert Plan(_statement("where a = '__anpr_p0__' or b = '__anpr_p0__' and c = '__anpr_p1__'")).takes(2)
    assert not Plan(_statement("where a = '__anpr_p0__'")).takes(2)  # one went missing
    assert not Plan(_statement("where a = '__ANPR_P0__' or b = \"__anpr_p0__\"")).takes(1)  # rewritten
    assert Plan(_statement("select 1")).takes(0)


def _plan(sql: str = "select 1 where x = '__anpr_p0__'", renamed: dict | None = None) -> Plan:
    return Plan(StoredStatement(sql), renamed or {})


def test_a_stored_plan_is_read_back_for_its_manifest_and_shape_only(tmp_path):
    key = (("passages",), ("metric_time__month",), ("{{ Entity('municipality') }} = '__anpr_p0__'",), True)
    store = PlanStore(tmp_path, "a" * 64)
    store.put(key, _plan(renamed={"passages_daily": "passages"}))
    again = PlanStore(tmp_path, "a" * 64).get(key)
    assert again.statement.sql == "select 1 where x = '__anpr_p0__'" and again.renamed == {"passages_daily": "passages"}
    assert again.takes(1)
    assert PlanStore(tmp_path, "b" * 64).get(key) is None  # other definitions: never trusted
    assert store.get((*key[:3], False)) is None  # another shape
    assert [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")] == []  # no temporary file left


def test_a_stored_plan_that_records_another_shape_or_manifest_is_ignored(tmp_path):
    key, other = (("passages",), (), (), True), (("logistics_passages",), (), (), True)
    store = PlanStore(tmp_path, "a" * 64)
    store.put(other, _plan("select 2"))
    store._path(other).rename(store._path(key))  # a file under the wrong name (or a hash collision)
    assert store.get(key) is None
    store.put(key, _plan("select 3"))
    doc = json.loads(store._path(key).read_text())
    store._path(key).write_text(json.dumps({**doc, "manifest": "b" * 64}))
    assert store.get(key) is None
    store._path(key).write_text("{not json")
    assert store.get(key) is None


def test_a_folder_that_cannot_be_written_only_means_planning_again(tmp_path):
    blocker = tmp_path / "plan-cache"
    blocker.write_text("a file where the folder should be")
    store = PlanStore(blocker, "a" * 64)
    store.put(((), (), (), True), _plan())
    assert store.get(((), (), (), True)) is None
