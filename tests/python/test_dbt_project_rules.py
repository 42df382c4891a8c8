"""dbt-project-evaluator rules that matter here, checked on target/manifest.json (no hub packages offline)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from anpr_warehouse.paths import PROJECT_ROOT

from .cli_support import dbt


@pytest.fixture(scope="module")
def manifest() -> dict:
    proc = dbt("parse", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())


def _models(manifest):
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model" and v["package_name"] == "anpr_warehouse"}


def test_naming_and_directory_conventions(manifest):
    for node in _models(manifest).values():
        path, name = Path(node["original_file_path"]), node["name"]
        layer = path.parts[1]
        if layer == "staging" and path.parts[3] == "base":
            source = path.parts[2]
            assert name.startswith(f"base_{source}__"), f"{name} in {path} must be base_{source}__<entity>s"
        elif layer == "staging":
            source = path.parts[2]
            assert name.startswith(f"stg_{source}__"), f"{name} in {path} must be stg_{source}__<entity>s"
            assert name.endswith("s"), f"{name}: staging models name their entity in plural"
        elif layer == "harmonised":
            assert name.startswith("int_"), name
        elif layer == "marts":
            assert name.startswith(("fct_", "dim_")), name
        else:
            pytest.fail(f"{name} is outside staging/, harmonised/ and marts/: {path}")


def test_every_model_has_its_yaml_beside_its_sql(manifest):
    """A model is the unit of change: `<model>.sql` and `<model>.yml` side by side, nothing shared."""
    for node in _models(manifest).values():
        sql = Path(node["original_file_path"])
        assert node["patch_path"], f"{node['name']} has no YAML"
        yml = Path(node["patch_path"].split("://")[-1])
        assert yml == sql.with_suffix(".yml"), f"{node['name']} is documented in {yml}, not beside {sql}"


def test_yaml_written_for_people():
    """Short files, no anchors (one edit must not change another model's tests), no YAML dumper leftovers."""
    for path in sorted((PROJECT_ROOT / "models").rglob("*.yml")):
        text = path.read_text()
        name = path.relative_to(PROJECT_ROOT)
        assert len(text.splitlines()) <= 400, f"{name} has {len(text.splitlines())} lines (at most 400)"
        assert not re.search(r"(:|-)\s+[&*]id\d+", text), f"{name} uses YAML anchors/aliases"
        assert not re.search(r"^(models|semantic_models|metrics|unit_tests|sources):\n- ", text, re.M), (
            f"{name} has unindented lists"
        )


def test_every_model_and_column_documented(manifest):
    for node in _models(manifest).values():
        assert node["description"].strip(), f"{node['name']} has no description"
        assert node["columns"], f"{node['name']} documents no columns"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{node['name']}.{column['name']} has no description"


def test_every_model_tested(manifest):
    tested = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("test", "unit_test"):
            tested.update(node["depends_on"]["nodes"])
    for unit in manifest.get("unit_tests", {}).values():
        tested.update(unit["depends_on"]["nodes"])
    untested = [key for key in _models(manifest) if key not in tested]
    assert not untested, f"models without tests: {untested}"


def test_marts_never_read_sources_and_staging_reads_only_base_models(manifest):
    models = _models(manifest)
    for _key, node in models.items():
        parents = node["depends_on"]["nodes"]
        name = node["name"]
        if name.startswith(("fct_", "dim_", "int_")):
            assert not [p for p in parents if p.startswith("source.")], f"{name} reads a source directly"
        if name.startswith("stg_"):  # a staging model reads its source and at most the source's base models
            assert not [p for p in parents if p.startswith("model.") and not p.split(".")[-1].startswith("base_")], (
                f"{name} depends on a model that is not a base model"
            )
        if name.startswith("base_"):
            assert not [p for p in parents if p.startswith("model.")], f"{name} depends on another model"


def test_marts_have_enforced_contracts(manifest):
    for node in _models(manifest).values():
        if node["name"].startswith(("fct_", "dim_")):
            assert node["config"]["contract"]["enforced"], f"{node['name']} has no enforced contract"
            assert all(c.get("data_type") for c in node["columns"].values()), node["name"]


@pytest.fixture(scope="module")
def semantic(manifest) -> dict:
    """The semantic manifest `dbt parse` wrote next to the manifest: metrics and semantic models by name."""
    data = json.loads((PROJECT_ROOT / "target" / "semantic_manifest.json").read_text())
    return {
        "metrics": {m["name"]: m for m in data["metrics"]},
        "measure_owner": {ms["name"]: sm["name"] for sm in data["semantic_models"] for ms in sm["measures"]},
        "measure_model": {ms["name"]: sm["node_relation"]["alias"] for sm in data["semantic_models"] for ms in sm["measures"]},
    }


def _meta(metric: dict) -> dict:
    return (metric.get("config") or {}).get("meta") or {}


def _filters(metric: dict) -> list[str]:
    """The metric's where filters, whitespace-insensitive (YAML blocks break them over lines)."""
    return sorted(" ".join(f["where_sql_template"].split()) for f in (metric.get("filter") or {}).get("where_filters", []))


def _inputs(metric: dict, metrics: dict) -> list[dict]:
    """The simple metrics a derived or ratio metric is computed from, transitively."""
    params = metric["type_params"]
    if metric["type"] == "simple":
        return [metric]
    names = [m["name"] for m in params.get("metrics") or []]
    names += [params[k]["name"] for k in ("numerator", "denominator") if params.get(k)]
    return [leaf for name in names for leaf in _inputs(metrics[name], metrics)]


def test_every_metric_marks_whether_it_is_public(semantic):
    for name, metric in semantic["metrics"].items():
        meta = _meta(metric)
        assert isinstance(meta.get("public"), bool), f"{name}: config.meta.public must be true or false"
        if "companion_of" in meta or meta.get("grain_guard"):
            assert meta["public"] is False, f"{name} is a companion or guard and must not be public"


def test_every_simple_metric_is_guarded_by_a_companion_over_the_same_cells(semantic):
    """The lower-bound guarantee: a companion counts the confidential cells of exactly the cells its metric sums."""
    metrics, owner = semantic["metrics"], semantic["measure_owner"]
    for name, metric in metrics.items():
        meta = _meta(metric)
        if metric["type"] != "simple" or "companion_of" in meta:
            continue
        companion_name = meta.get("confidential_cells_metric")
        assert companion_name in metrics, f"{name} has no confidential-cell companion"
        companion = metrics[companion_name]
        assert _meta(companion).get("companion_of") == name, f"{companion_name} does not say it is the companion of {name}"
        measure, cells = metric["type_params"]["measure"]["name"], companion["type_params"]["measure"]["name"]
        assert owner[measure] == owner[cells], f"{name} sums {owner[measure]} but {companion_name} counts {owner[cells]}"
        assert "confidential" in cells, f"{companion_name} counts {cells}, not confidential cells"
        assert _filters(metric) == _filters(companion), f"{name} and {companion_name} filter differently"


def test_every_public_computed_metric_carries_its_inputs_companions(semantic):
    """A ratio or derived metric is a lower bound when any of its inputs is: it must carry their companions."""
    metrics = semantic["metrics"]
    for name, metric in metrics.items():
        meta = _meta(metric)
        if metric["type"] == "simple" or not meta.get("public"):
            continue
        inputs = [m for m in _inputs(metric, metrics) if not _meta(m).get("grain_guard")]
        needed = {_meta(m)["confidential_cells_metric"] for m in inputs}
        assert set(meta.get("confidential_cells_metrics", [])) == needed, f"{name} carries the wrong confidential-cell companions"


def _unprefixed(filters: list[str]) -> list[str]:
    """Filters with the semantic model's own entity prefix dropped: `passage_hourly__is_logistics` -> `is_logistics`."""
    return [re.sub(r"Dimension\('\w+?__", "Dimension('", f) for f in filters]


@pytest.mark.parametrize("twin_key", ["day_grain_of", "month_grain_of"])
def test_every_day_grain_twin_mirrors_its_metric(semantic, twin_key):
    """metrics.py answers a metric from its day-grain twin when a question needs no hour (its month-grain twin when it
    needs no day either): same kind, same cells (filter), the twins of its companions and inputs, read from another
    fact; the twin itself is not public."""
    metrics, model = semantic["metrics"], semantic["measure_model"]
    twin_of = {name: _meta(m)[twin_key] for name, m in metrics.items() if twin_key in _meta(m)}
    twins = {original: twin for twin, original in twin_of.items()}
    assert {"passages", "logistics_passages", "passages_confidential_cells", "zero_emission_share"} <= set(twins)
    for twin_name, original_name in twin_of.items():
        twin, original = metrics[twin_name], metrics[original_name]
        assert _meta(twin)["public"] is False, f"{twin_name} is a twin and must not be public"
        assert twin["type"] == original["type"], twin_name
        assert _unprefixed(_filters(twin)) == _unprefixed(_filters(original)), f"{twin_name} filters other cells"
        meta, original_meta = _meta(twin), _meta(original)
        for key in ("confidential_cells_metric", "companion_of"):
            if key in original_meta:
                assert meta.get(key) == twins.get(original_meta[key]), f"{twin_name}: {key} is not the twin's"
        assert meta.get("confidential_cells_metrics", []) == [
            twins[c] for c in original_meta.get("confidential_cells_metrics", [])
        ]
        if twin["type"] == "simple":
            measure, original_measure = (m["type_params"]["measure"]["name"] for m in (twin, original))
            assert model[measure] != model[original_measure], f"{twin_name} reads the same fact as {original_name}"
        else:
            inputs = [(twins.get(i["name"]), i.get("offset_window")) for i in original["type_params"]["metrics"]]
            assert [(i["name"], i.get("offset_window")) for i in twin["type_params"]["metrics"]] == inputs, twin_name


def test_standard_questions_are_the_saved_queries(manifest, semantic):
    """Python reads the questions from the manifest: every saved query becomes one, asking public metrics only."""
    from anpr_warehouse.standard_questions import read_questions

    questions = read_questions(manifest)
    saved = {n["name"] for n in manifest["saved_queries"].values() if n["package_name"] == "anpr_warehouse"}
    assert {q.name for q in questions} == saved and len(saved) >= 10
    for question in questions:
        for metric in question.metrics + ((question.part_of,) if question.part_of else ()):
            assert _meta(semantic["metrics"][metric]).get("public") is True, f"{question.name} asks non-public {metric}"
        if question.part_of:
            assert question.part_dimension in question.group_by, f"{question.name}: part_dimension not grouped by"


def _models_behind(metric: dict, semantic: dict) -> set[str]:
    """The models whose semantic models a metric reads (through derived and ratio inputs)."""
    return {semantic["measure_model"][m["type_params"]["measure"]["name"]] for m in _inputs(metric, semantic["metrics"])}


def _exposures(manifest) -> dict[str, dict]:
    return {e["name"]: e for e in manifest["exposures"].values() if e["package_name"] == "anpr_warehouse"}


def test_every_exposure_depends_on_what_its_saved_queries_read(manifest, semantic):
    """A consumer's exposure lists every model behind the questions it asks, and the time spine."""
    saved = {n["name"]: n for n in manifest["saved_queries"].values()}
    exposures = _exposures(manifest)
    assert {"vendor_package", "vendor_api", "report_overview", "report_locations"} <= set(exposures)
    for name, exposure in exposures.items():
        asked = exposure["config"]["meta"].get("saved_queries")
        asked = sorted(saved) if asked == "all" else asked
        assert asked and set(asked) <= set(saved), f"exposure {name} names unknown saved queries {asked}"
        refs = {ref["name"] for ref in exposure["refs"]}
        needed = {"dim_date"}
        for query in asked:
            for metric in saved[query]["query_params"]["metrics"]:
                needed |= _models_behind(semantic["metrics"][metric], semantic)
        assert needed <= refs, f"exposure {name} misses {sorted(needed - refs)}"


def test_export_tables_are_the_vendor_package_exposure(manifest):
    from anpr_warehouse.dbt_manifest import vendor_package_tables

    facts, by_municipality, code_lists = vendor_package_tables(manifest)
    exported = set(facts + by_municipality + code_lists)
    declared = {r["name"] for r in _exposures(manifest)["vendor_package"]["refs"]}
    assert exported == {n for n in declared if n.startswith(("fct_", "dim_"))} - {"dim_date"}
    assert all(f.startswith("fct_") for f in facts) and "dim_location" in by_municipality and "dim_fuel_type" in code_lists


def test_building_one_consumer_selects_only_what_it_reads():
    proc = dbt(
        "ls", "-s", "+exposure:report_time_profile", "--resource-type", "model", "--output", "name", "--quiet", timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    selected = set(proc.stdout.split())
    assert {"fct_passages_hourly", "int_passages_hourly", "stg_cbs__t01_observations", "dim_date"} <= selected
    assert not selected & {"fct_ze_access", "fct_origin_profile", "int_ze_access_cells"}, selected


def test_minimal_dataset_doc_is_up_to_date(manifest):
    """docs/minimal-dataset.md is generated from the exposures' lineage; regenerate it when the graph changes."""
    from anpr_warehouse.minimal_dataset import OUTPUT, render

    assert OUTPUT.read_text(encoding="utf-8") == render(manifest), (
        "docs/minimal-dataset.md is out of date: run `.venv/bin/python -m anpr_warehouse.minimal_dataset`"
    )


def test_every_mart_reaches_vendors(manifest):
    """A new mart that the vendor-package exposure does not name would silently never reach a vendor."""
    marts = {n["name"] for n in _models(manifest).values() if n["name"].startswith(("fct_", "dim_"))}
    declared = {r["name"] for r in _exposures(manifest)["vendor_package"]["refs"]}
    assert marts <= declared, f"marts missing from exposure vendor_package: {sorted(marts - declared)}"


SQL_FILES = sorted([*(PROJECT_ROOT / "models").rglob("*.sql"), *(PROJECT_ROOT / "macros").glob("*.sql")])


def test_staging_joins_the_flowing_deliveries_in_one_place(manifest):
    """`flowing_rows` is the one join of a raw table to the flowing deliveries; every staging model of a delivery
    file goes through it (so no raw row of a superseded or quarantined delivery flows on), and no model copies the
    join. stg_cbs__deliveries, the register itself, only marks which delivery flows."""
    join_sites = {
        str(path.relative_to(PROJECT_ROOT))
        for path in SQL_FILES
        if "ref('base_cbs__flowing_deliveries')" in path.read_text(encoding="utf-8")
    }
    assert join_sites == {"macros/flowing_rows.sql", "models/staging/cbs/stg_cbs__deliveries.sql"}, join_sites
    for node in _models(manifest).values():
        sources = [p for p in node["depends_on"]["nodes"] if p.startswith("source.")]
        if node["name"].startswith("stg_") and sources and not sources[0].endswith(".cbs_deliveries"):
            assert node["depends_on"]["nodes"].count("model.anpr_warehouse.base_cbs__flowing_deliveries") == 1, node["name"]


def test_no_sql_lists_the_legacy_wide_columns():
    """The legacy wide files are unpivoted by DuckDB from the raw table's own columns (stage_legacy_cells), whose
    header contract.py defines once: a list of vehicle categories or fuels written in SQL would be a second copy."""
    from anpr_warehouse.contract import LEGACY_CATEGORY_WORDS, LEGACY_FUEL_WORDS

    for words in (LEGACY_CATEGORY_WORDS, LEGACY_FUEL_WORDS):
        for path in SQL_FILES:
            text = path.read_text(encoding="utf-8").lower()
            named = sorted(w for w in {w.lower() for w in words} if re.search(rf"\b{re.escape(w)}\b", text))
            assert len(named) < 3, f"{path.relative_to(PROJECT_ROOT)} lists legacy columns {named}"


def test_a_models_failing_rules_hold_back_the_models_built_from_it(manifest):
    """Each model whose rules fail in a build keeps its children from building on its rows in that build.

    dbt makes a model wait for a test only when every parent of the test is upstream of that model
    (dbt's Linker.add_test_edges): a model's column_rules that also read the dimensions its references
    point to would no longer hold back a child that does not read them, and a failing new delivery would
    flow into the child's rows before the quarantine. So a model with children keeps its `relationships`
    in a test node of its own (`relationships_<model>`), and every other test of it reads only what its
    children read too.
    """
    nodes = {**manifest["nodes"], **manifest["sources"]}
    parents = {key: set(node.get("depends_on", {}).get("nodes", [])) for key, node in nodes.items()}

    def upstream(key: str, seen: set[str]) -> set[str]:
        for parent in parents.get(key, ()):
            if parent not in seen:
                seen.add(parent)
                upstream(parent, seen)
        return seen

    models = _models(manifest)
    children = {key: [child for child in models if key in parents[child]] for key in models}
    checked, not_held = 0, []
    for key, test in manifest["nodes"].items():
        model = test.get("attached_node")
        if test["resource_type"] != "test" or model not in models or test["name"].startswith("relationships_"):
            continue
        for child in children[model]:
            checked += 1
            outside = parents[key] - upstream(child, set())
            if outside:
                not_held.append(f"{test['name']} does not hold back {models[child]['name']}: reads {sorted(outside)}")
    assert checked >= 10, "the rule looked at (almost) nothing"
    assert not not_held, "\n".join(not_held)
