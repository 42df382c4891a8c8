"""Every metric against numbers worked out by hand from the tiny delivery (see tiny_delivery.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anpr_warehouse.metrics import MetricLayer, MetricRefused
from anpr_warehouse.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow
GM = "{{ Entity('municipality') }} = 'GM0344'"


@pytest.fixture(scope="module")
def layer(tiny_warehouse) -> MetricLayer:
    return MetricLayer(tiny_warehouse)


def values(layer, metrics, group_by, where=None):
    """{group-by tuple: {metric: (value, complete)}}"""
    result = layer.query(metrics, group_by, where)
    return {
        tuple(str(r[g])[:10] for g in result.group_by): {m: (r[m].value, r[m].complete) for m in metrics} for r in result.rows
    }


def test_camera_passages_by_month(layer):
    got = values(layer, ["passages", "logistics_passages"], ["metric_time__month"])
    assert got[("2025-03-01",)] == {"passages": (245, False), "logistics_passages": (185, False)}
    assert got[("2025-04-01",)] == {"passages": (200, True), "logistics_passages": (145, True)}


def test_change_against_previous_month(layer):
    got = values(layer, ["passages_change_vs_previous_month"], ["metric_time__month"])
    value, complete = got[("2025-04-01",)]["passages_change_vs_previous_month"]
    assert value == pytest.approx((200 - 245) / 245)
    assert complete  # April's own cells are complete; the metric reports April's companion


def test_passages_by_vehicle_category(layer):
    got = values(layer, ["category_passages"], ["metric_time__month", "vehicle_category"])
    assert got[("2025-03-01", "BEST")]["category_passages"] == (165, True)
    assert got[("2025-03-01", "VRAC")]["category_passages"] == (20, False)  # one hour confidential
    assert got[("2025-03-01", "TREK")]["category_passages"] == (None, False)  # only confidential: unknown, not 0
    assert ("2025-03-01", "T001") not in got


def test_hour_of_day_profile(layer):
    got = values(layer, ["passages"], ["passage_hourly__hour_of_day"], [GM])
    assert got[("8",)]["passages"] == (365, False)  # 165 + [L002 confidential] + April 200
    assert got[("9",)]["passages"] == (80, True)


def test_fuel_and_zero_emission_share(layer):
    got = values(layer, ["fuel_passages"], ["metric_time__month", "fuel_type"])
    assert got[("2025-03-01", "DIES")]["fuel_passages"] == (150, True)
    assert got[("2025-03-01", "ELEK")]["fuel_passages"] == (40, True)
    assert got[("2025-03-01", "WATS")]["fuel_passages"] == (None, False)
    shares = values(layer, ["zero_emission_share", "logistics_zero_emission_share"], ["metric_time__month"])
    assert shares[("2025-03-01",)]["zero_emission_share"] == (pytest.approx(0.2), False)
    assert shares[("2025-03-01",)]["logistics_zero_emission_share"] == (pytest.approx(20 / 130), False)


def test_zone_metrics_by_month_and_zone(layer):
    got = values(
        layer,
        ["zone_passages", "zone_logistics_passages", "unique_vehicles", "unique_logistics_vehicles"],
        ["metric_time__month", "zone"],
    )
    assert got[("2025-03-01", "GM0344_Z01")] == {
        "zone_passages": (500, True),
        "zone_logistics_passages": (420, True),
        "unique_vehicles": (120, True),
        "unique_logistics_vehicles": (105, True),
    }
    assert got[("2025-04-01", "GM0344_Z01")]["unique_vehicles"] == (80, True)


def test_emission_class_and_first_admission(layer):
    got = values(layer, ["emission_class_passages"], ["zone", "metric_time__month", "emission_class"])
    assert {k[2]: v["emission_class_passages"][0] for k, v in got.items()} == {"E5": 100, "E6": 260, "EZ": 60}
    got = values(
        layer, ["logistics_emission_class_passages"], ["zone", "metric_time__month", "vehicle_category", "emission_class"]
    )
    assert got[("GM0344_Z01", "2025-03-01", "VRAC", "E6")]["logistics_emission_class_passages"] == (None, False)
    got = values(layer, ["first_admission_passages"], ["metric_time__month", "first_admission_year"])
    assert got == {}  # T03 has no total-over-categories per year in this delivery: nothing, not zeros


def test_ze_access_shares_now_and_next(layer):
    metrics = [
        "ze_allowed_share",
        "ze_transition_share",
        "ze_not_allowed_share",
        "ze_allowed_share_next",
        "ze_not_allowed_share_next",
        "ze_transition_share_next",
    ]
    got = values(layer, metrics, ["metric_time__month", "zone"])[("2025-03-01", "GM0344_Z01")]
    assert got["ze_allowed_share"] == (pytest.approx(60 / 420), True)
    assert got["ze_transition_share"] == (pytest.approx(300 / 420), False)
    assert got["ze_not_allowed_share"] == (None, True)  # nothing is not allowed now
    assert got["ze_allowed_share_next"] == (pytest.approx(60 / 420), True)
    assert got["ze_transition_share_next"] == (pytest.approx(200 / 420), True)
    assert got["ze_not_allowed_share_next"] == (pytest.approx(100 / 420), False)
    by_category = values(layer, ["ze_transition_passages"], ["metric_time__month", "vehicle_category"])
    assert by_category[("2025-03-01", "BEST")]["ze_transition_passages"] == (300, True)


def test_sector_origin_and_visits(layer):
    got = values(layer, ["sector_passages"], ["metric_time__month", "sbi_section"])
    assert {k[1]: v["sector_passages"] for k, v in got.items()} == {"F": (150, True), "G": (100, True), "H": (None, False)}
    shares = values(layer, ["own_municipality_share", "abroad_share", "frequent_visitor_share"], ["metric_time__month", "zone"])
    assert shares[("2025-03-01", "GM0344_Z01")] == {
        "own_municipality_share": (pytest.approx(0.4), True),
        "abroad_share": (pytest.approx(0.05), True),
        "frequent_visitor_share": (pytest.approx(0.125), True),
    }
    visits = values(layer, ["visit_class_vehicles"], ["zone", "metric_time__month", "visit_day_class"])
    assert visits[("GM0344_Z01", "2025-03-01", "D20P")]["visit_class_vehicles"] == (5, True)


def test_unique_vehicles_are_never_added_over_months_or_zones(layer):
    for group_by in (["metric_time__month"], ["zone"], ["municipality"], []):
        with pytest.raises(MetricRefused, match="not additive"):
            layer.query(["unique_vehicles"], group_by)
    # the semantic layer itself returns nothing for such rows, so direct MetricFlow users cannot add them up either
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    frame = layer._config.mf.query(
        MetricFlowQueryRequest.create(metric_names=["unique_vehicles"], group_by_names=["metric_time__year"])
    ).result_df
    assert [row[-1] for row in frame.rows] == [None]


def test_cli_query_formats_and_refusal(layer, tmp_path):
    # the in-process layer holds DuckDB's write lock on the warehouse file; the CLI reads the published snapshot
    cli = [sys.executable, "-m", "anpr_warehouse.cli", "metrics", "query", "--warehouse", str(layer.warehouse)]
    table = subprocess.run(
        cli + ["--metrics", "passages", "--group-by", "metric_time__month"], capture_output=True, text=True, timeout=300
    )
    assert table.returncode == 0 and ">= 245" in table.stdout and "lower bound" in table.stdout
    as_csv = subprocess.run(
        cli + ["--metrics", "passages", "--group-by", "metric_time__month", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "2025-03-01,245,1,False" in as_csv.stdout
    refused = subprocess.run(cli + ["--metrics", "unique_vehicles"], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "not additive" in refused.stderr


def test_mf_validate_configs_passes(layer, tmp_path):
    """MetricFlow's own validation: semantics, and every metric queried against the built warehouse."""
    copy = tmp_path / "validate.duckdb"
    shutil.copy(layer.warehouse, copy)
    env = {**os.environ, "ANPR_WAREHOUSE": str(copy)}
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet"], env=env, cwd=PROJECT_ROOT, timeout=600, check=True
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "mf"), "validate-configs"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "ERRORS: 0" in proc.stdout and "Successfully validated metrics against data warehouse" in proc.stdout
