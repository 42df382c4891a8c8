"""An incremental build skips the nodes that read no delivery only while they are exactly what the warehouse built.

On a stand-in of dbt's manifest (the attributes reference_nodes.py reads) and a real DuckDB file: the
subtree is the seeds, models and tests with no source among their ancestors; it is excluded only after
`remember` stored its fingerprint, and no longer once a seed's checksum, a model's config or a macro
changes, or one of its tables is gone. (test_incremental.py shows on real builds that skipping them
keeps the marts equal to a full build.)
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from anpr_warehouse import reference_nodes


def node(unique_id: str, parents: list[str], checksum: str = "c", alias: str | None = None):
    kind, _, name = unique_id.split(".")
    return SimpleNamespace(
        unique_id=unique_id,
        name=name,
        alias=alias or name,
        schema="reference" if kind == "seed" else "marts",
        package_name="anpr_warehouse",
        resource_type=kind,
        depends_on=SimpleNamespace(macros=[]) if kind == "seed" else SimpleNamespace(nodes=parents, macros=[]),
        checksum=SimpleNamespace(checksum=checksum),
        config=SimpleNamespace(to_dict=lambda: {"materialized": "table"}),
    )


def manifest(seed_checksum: str = "c", macro_sql: str = "select 1") -> SimpleNamespace:
    nodes = [
        node("seed.anpr_warehouse.ref_fuel", [], seed_checksum),
        node("model.anpr_warehouse.dim_fuel", ["seed.anpr_warehouse.ref_fuel"]),
        node("test.anpr_warehouse.unique_dim_fuel_code", ["model.anpr_warehouse.dim_fuel"]),
        node("model.anpr_warehouse.fct_cells", ["source.anpr_warehouse.cbs.t01", "model.anpr_warehouse.dim_fuel"]),
        node("test.anpr_warehouse.not_null_fct_cells_x", ["model.anpr_warehouse.fct_cells"]),
    ]
    macro = SimpleNamespace(package_name="anpr_warehouse", macro_sql=macro_sql)
    return SimpleNamespace(nodes={n.unique_id: n for n in nodes}, macros={"macro.anpr_warehouse.m": macro})


@pytest.fixture()
def con(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "anpr.duckdb"))
    con.execute("create schema reference; create schema marts")
    con.execute("create table reference.ref_fuel (code varchar); create table marts.dim_fuel (code varchar)")
    yield con
    con.close()


def test_the_subtree_is_what_reads_no_delivery():
    names = [n.name for n in reference_nodes.reference_nodes(manifest())]
    assert names == ["dim_fuel", "ref_fuel", "unique_dim_fuel_code"]


def test_skipped_only_after_the_same_subtree_was_built(con):
    assert reference_nodes.exclusions(con, manifest()) == []  # nothing remembered: build everything
    reference_nodes.remember(con, manifest())
    assert reference_nodes.exclusions(con, manifest()) == ["--exclude", "dim_fuel", "ref_fuel", "unique_dim_fuel_code"]


@pytest.mark.parametrize("change", ["seed file", "macro", "table dropped"])
def test_a_change_builds_everything_again(con, change):
    reference_nodes.remember(con, manifest())
    now = manifest(seed_checksum="other") if change == "seed file" else manifest(macro_sql="select 2")
    if change == "table dropped":
        now = manifest()
        con.execute("drop table marts.dim_fuel")
    assert reference_nodes.exclusions(con, now) == []


def with_unit_test(base: SimpleNamespace, checksum: str = "u") -> SimpleNamespace:
    """The stand-in manifest with one unit test of the delivery-reading model."""
    unit_test = SimpleNamespace(
        unique_id="unit_test.anpr_warehouse.fct_cells.adds_up",
        package_name="anpr_warehouse",
        checksum=checksum,  # dbt gives a unit test's checksum as a plain string
        config=SimpleNamespace(to_dict=lambda: {"enabled": True}),
    )
    return SimpleNamespace(**vars(base), unit_tests={unit_test.unique_id: unit_test})


def test_unit_tests_skipped_only_while_the_code_they_passed_is_unchanged(con):
    assert reference_nodes.exclusions(con, with_unit_test(manifest())) == []
    reference_nodes.remember(con, with_unit_test(manifest()))
    assert reference_nodes.exclusions(con, with_unit_test(manifest()))[-1] == "resource_type:unit_test"
    changed_model = manifest()
    changed_model.nodes["model.anpr_warehouse.fct_cells"].checksum = SimpleNamespace(checksum="new sql")
    for now in (with_unit_test(manifest(), checksum="new fixture"), with_unit_test(changed_model)):
        # the unit tests run again; the reference subtree, unchanged, is still skipped
        assert reference_nodes.exclusions(con, now) == ["--exclude", "dim_fuel", "ref_fuel", "unique_dim_fuel_code"]


def layout_manifest(view_checksum: str = "c") -> SimpleNamespace:
    """A legacy staging view with a new-delivery test, a v1 one, and a model reading both layouts."""
    legacy = node("model.anpr_warehouse.stg_legacy_rows", ["source.anpr_warehouse.cbs_legacy.rows"], view_checksum)
    v1 = node("model.anpr_warehouse.stg_v1_rows", ["source.anpr_warehouse.cbs.t01", "source.anpr_warehouse.cbs.cbs_deliveries"])
    both = node("model.anpr_warehouse.int_rows", [legacy.unique_id, v1.unique_id])
    for model, materialized in ((legacy, "view"), (v1, "view"), (both, "incremental")):
        model.fqn = ["anpr_warehouse", "staging" if model is not both else "harmonised", model.name]
        model.columns = {"delivery_id": {}}
        model.config = SimpleNamespace(to_dict=lambda: {}, materialized=materialized, meta={})
    tests = [
        node("test.anpr_warehouse.rules_stg_legacy_rows", [legacy.unique_id]),
        node("test.anpr_warehouse.rules_stg_v1_rows", [v1.unique_id]),
        node("test.anpr_warehouse.rules_int_rows", [both.unique_id]),
    ]
    for test, attached in zip(tests, (legacy, v1, both)):
        test.attached_node = attached.unique_id
    nodes = [legacy, v1, both, *tests]
    macro = SimpleNamespace(package_name="anpr_warehouse", macro_sql="select 1")
    return SimpleNamespace(nodes={n.unique_id: n for n in nodes}, macros={"macro.anpr_warehouse.m": macro})


def test_a_layout_without_new_deliveries_skips_its_views_and_their_new_delivery_tests(con):
    con.execute("create schema staging")
    con.execute("create view staging.stg_legacy_rows as select 1 as x; create view staging.stg_v1_rows as select 1 as x")
    for n in layout_manifest().nodes.values():
        n.schema = "staging"
    found = {layout: [n.name for n in nodes] for layout, nodes in reference_nodes.layout_nodes(layout_manifest()).items()}
    assert found == {"legacy": ["stg_legacy_rows", "rules_stg_legacy_rows"], "v1": ["stg_v1_rows", "rules_stg_v1_rows"]}

    def in_staging(manifest):
        for n in manifest.nodes.values():
            n.schema = "staging"
        return manifest

    def skipped(manifest, new_layouts):
        return reference_nodes.layout_exclusions(con, in_staging(manifest), new_layouts)

    assert skipped(layout_manifest(), {"v1"}) == []  # nothing remembered yet
    reference_nodes.remember(con, in_staging(layout_manifest()))
    assert skipped(layout_manifest(), {"v1"}) == ["stg_legacy_rows", "rules_stg_legacy_rows"]
    assert skipped(layout_manifest(), {"legacy"}) == ["stg_v1_rows", "rules_stg_v1_rows"]
    assert skipped(layout_manifest(), {"v1", "legacy"}) == []
    assert skipped(layout_manifest(view_checksum="changed"), {"v1"}) == []  # the view's code changed: rebuild it
    con.execute("drop view staging.stg_legacy_rows")
    assert skipped(layout_manifest(), {"v1"}) == []  # the view is gone


def test_a_layout_view_is_built_again_when_a_relation_it_reads_is_renamed(con):
    """Review finding: the layout skip compared the nodes' own code only, so a parent given an alias (the view's
    compiled SQL then reads another relation) left the view reading the old relation, skipped on every build."""
    con.execute("create schema staging")
    con.execute("create view staging.stg_legacy_rows as select 1 as x; create view staging.stg_v1_rows as select 1 as x")

    def reading_base(alias: str) -> SimpleNamespace:
        built = layout_manifest()
        base = node("model.anpr_warehouse.base_rows", ["source.anpr_warehouse.cbs_legacy.rows"], alias=alias)
        built.nodes[base.unique_id] = base
        built.nodes["model.anpr_warehouse.stg_legacy_rows"].depends_on.nodes = [base.unique_id]
        for n in built.nodes.values():
            n.schema = "staging"
        return built

    reference_nodes.remember(con, reading_base("base_rows"))
    assert reference_nodes.layout_exclusions(con, reading_base("base_rows"), {"v1"}) == [
        "stg_legacy_rows",
        "rules_stg_legacy_rows",
    ]
    assert reference_nodes.layout_exclusions(con, reading_base("base_rows_v2"), {"v1"}) == []


def staged(manifest: SimpleNamespace, database: str = "anpr") -> SimpleNamespace:
    for n in manifest.nodes.values():
        n.schema, n.database = "staging", database
    return manifest


def test_views_are_skipped_while_their_sql_is_what_the_last_build_created(con):
    """A view holds no rows: only its code, config, relation or the relations it reads make it worth creating again."""
    con.execute("create schema staging")
    con.execute("create view staging.stg_legacy_rows as select 1 as x; create view staging.stg_v1_rows as select 1 as x")
    assert reference_nodes.view_exclusions(con, staged(layout_manifest())) == []  # nothing remembered yet
    reference_nodes.remember(con, staged(layout_manifest()))
    assert reference_nodes.view_exclusions(con, staged(layout_manifest())) == ["stg_legacy_rows", "stg_v1_rows"]
    assert reference_nodes.view_exclusions(con, staged(layout_manifest(view_checksum="changed"))) == []  # its code changed
    assert reference_nodes.view_exclusions(con, staged(layout_manifest(), database="elsewhere")) == []  # another catalog
    con.execute("drop view staging.stg_v1_rows")
    assert reference_nodes.view_exclusions(con, staged(layout_manifest())) == []  # a view is gone


def test_a_build_forgets_every_fingerprint_its_skips_do_not_rely_on(con):
    """What a build rebuilds is known again only after it succeeded (test_build_state.py shows why, on real builds)."""
    subtree = ["--exclude", "dim_fuel", "ref_fuel", "unique_dim_fuel_code"]
    reference_nodes.remember(con, with_unit_test(manifest()))
    changed_model = manifest()
    changed_model.nodes["model.anpr_warehouse.fct_cells"].checksum = SimpleNamespace(checksum="new sql")
    relied_on: set[str] = set()
    assert reference_nodes.exclusions(con, with_unit_test(changed_model), relied_on) == subtree
    assert relied_on == {reference_nodes.KIND}  # the unit tests run again: their fingerprint is not relied on
    reference_nodes.forget_all_but(con, relied_on)
    assert con.execute(f"select kind from {reference_nodes.STATE_TABLE}").fetchall() == [(reference_nodes.KIND,)]
    assert reference_nodes.exclusions(con, with_unit_test(manifest())) == subtree  # unit tests no longer skipped
    reference_nodes.forget_all_but(con, set())
    assert reference_nodes.exclusions(con, manifest()) == []
