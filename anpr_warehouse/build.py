"""`anpr build`: one municipality's bad delivery quarantines that delivery, not the whole build.

Why: a delivery can pass every check of `anpr load` and still fail a dbt data test (a rule only the
models can see). A failing test makes dbt skip everything downstream, so one municipality-month used
to stop the marts of all. Here the build finds which deliveries the failing rows belong to (the failing
data tests run again keeping their failing rows as views in schema `test_failures`, see dbt_project.yml
and macros/store_failures.sql), marks those deliveries `failed` in the register, and builds again:
staging then passes on, for that month, the
last delivery that built ok (or nothing), and every other municipality-month is built and tested.
After a successful build the deliveries that flowed are marked `ok`, which makes them the "last good"
state of their month.

Only deliveries that were never built are blamed: rows of a delivery that passed an earlier build
cannot fail by themselves, so such a failure (like one on a seed, a unit test or a model error) comes
from the project or the reference data, and the build stops as before (exit 2) naming the failing
nodes: quarantining data would not fix it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import parse_cache, reference_nodes, step_times
from .dbt_runner import point_dbt_at, raise_if_locked, run_dbt
from .duckdb_settings import connect, table_exists
from .errors import UserError
from .load.raw_schema import RAW_SCHEMA, REGISTER, upgrade_register_sql
from .paths import PROFILES_DIR, PROJECT_ROOT
from .warehouse import DEFAULT_WAIT_SECONDS, wait_until_free

# Each round quarantines at least one delivery that never built, so the loop ends anyway;
# this bound only keeps a pathological warehouse from rebuilding for hours.
MAX_ROUNDS = 6
DELIVERIES_VIEW = "staging.stg_cbs__deliveries"
# The register is checked by tests of its own; their failure is the warehouse's problem, not a delivery's.
REGISTER_NODES = (
    "source.anpr_warehouse.cbs.cbs_deliveries",
    "model.anpr_warehouse.stg_cbs__deliveries",
    "model.anpr_warehouse.base_cbs__flowing_deliveries",
)
# Ways a row says which delivery it belongs to, most precise first.
IDENTITIES = (
    ("delivery_id",),
    ("municipality_code", "month_start"),
    ("municipality_code", "period_start"),
    ("municipality_code", "period_code"),
    ("municipality_code",),
)
# dbt's built-in tests return the tested column under these names (unique, accepted_values, relationships).
RENAMED_TESTED_COLUMN = ("unique_field", "value_field", "from_field")
RUN_RESULTS = PROJECT_ROOT / "target" / "run_results.json"  # what the last dbt build ran (_write_run_results)


class BuildFailed(UserError):
    """A build failure no delivery explains: the build stops as before."""

    exit_code = 2


@dataclass
class Quarantined:
    """A delivery taken out of the build, with the data tests that failed on its rows."""

    delivery_id: str
    municipality_code: str
    month: str  # YYYY-MM
    tests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """One failing node and the never-built deliveries its failing rows belong to (empty: unexplained)."""

    node: str
    detail: str
    deliveries: tuple[str, ...]


def build_warehouse(
    warehouse: Path,
    select: list[str] | None = None,
    quiet: bool = False,
    wait: float = DEFAULT_WAIT_SECONDS,
    full_refresh: bool = False,
) -> list[Quarantined]:
    """`dbt build` with per-delivery quarantine; returns the deliveries quarantined by this build.

    Incremental by default: harmonised models and facts rebuild only the municipality-months whose
    flowing delivery changed and data tests look at those (macros/incremental_partitions.sql,
    macros/get_where_subquery.sql); seeds, the dimensions built from them and their tests are skipped while
    unchanged since the last build (reference_nodes.py). `full_refresh` rebuilds and tests everything (dbt's --full-refresh),
    in every round: a failing test makes dbt skip the models downstream, which must still be rebuilt whole.
    A `--select` build is a developer's partial build: plain `dbt build`, the register untouched.
    """
    refresh = ["--full-refresh"] if full_refresh else []
    if select:
        if warehouse.exists():
            wait_until_free(warehouse, wait)
            _forget_build_state(warehouse)  # a partial build may rebuild any node: nothing stays known
        RUN_RESULTS.unlink(missing_ok=True)  # dbt writes it again unless it raises (_write_run_results)
        run_dbt(["build", *refresh, "--select", *select], warehouse, wait)
        return []
    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; load deliveries first (anpr load) or run 'anpr run'")
    with step_times.timed("build_wait_s"):
        wait_until_free(warehouse, wait)
    point_dbt_at(warehouse)
    with step_times.timed("build_register_upgrade_s"):
        _upgrade_register(warehouse)
    with step_times.timed("dbt_parse_s"):
        parse_key = parse_cache.key()
        manifest = _parse(parse_key)
    skip = _unchanged_reference(warehouse, manifest, full_refresh)
    quarantined: list[Quarantined] = []
    for _ in range(MAX_ROUNDS):
        started = _utc_now()
        with step_times.timed("build_new_deliveries_s"):
            never_built = _never_built(warehouse)
        with step_times.timed("dbt_build_s"):
            results = _dbt_build(manifest, quiet, refresh + skip + _test_vars(never_built, store_failures=False))
        if results is not None:
            with step_times.timed("build_store_failures_s"):
                _store_failing_rows(manifest, results, refresh + _test_vars(never_built, store_failures=True))
        con = connect(warehouse)
        try:
            if results is None:
                parse_cache.seal(parse_key)
                with step_times.timed("build_mark_ok_s"):
                    _mark_built_ok(con, started)
                    reference_nodes.remember(con, manifest)
                    for line in _summary(con, quarantined):
                        print(line, file=sys.stderr)
                return quarantined
            with step_times.timed("build_quarantine_s"):
                newly = _quarantine(con, manifest, results, quarantined)
        finally:
            con.close()
        quarantined.extend(newly)
        names = ", ".join(q.delivery_id for q in newly)
        print(f"build: quarantined {names} (a data test failed on its rows); building again without it", file=sys.stderr)
    raise BuildFailed(
        f"data tests still fail after {MAX_ROUNDS} builds, each quarantining a delivery; see the failing nodes above"
    )


def _unchanged_reference(warehouse: Path, manifest, full_refresh: bool = False) -> list[str]:
    """`--exclude ...` for what cannot have changed: seeds, reference dimensions and their tests, the
    staging views and new-delivery tests of a layout no new delivery has (reference_nodes.layout_nodes), and
    every view whose SQL is as the last build created it (reference_nodes.view_exclusions; its tests run).
    Nothing on `--full-refresh`. The stored fingerprints of every kind rebuilt here are forgotten before dbt
    runs (reference_nodes.forget_all_but): only this build's success may store them again.

    Worked out once, before the first round: a later round only has fewer new deliveries (quarantined
    ones are no longer new), so skipping stays safe.
    """
    if full_refresh:
        _forget_build_state(warehouse)
        return []
    relied_on: set[str] = set()
    con = connect(warehouse)
    try:
        skip = reference_nodes.exclusions(con, manifest, relied_on)
        layout_skip = reference_nodes.layout_exclusions(con, manifest, _new_layouts(con), relied_on)
        view_skip = reference_nodes.view_exclusions(con, manifest, relied_on)
        reference_nodes.forget_all_but(con, relied_on)
    finally:
        con.close()
    step_times.add("dbt_reference_nodes_skipped", sum(1 for name in skip[1:] if ":" not in name))  # not the unit tests' selector
    step_times.add("dbt_layout_nodes_skipped", len(layout_skip))
    already = set(skip + layout_skip)
    view_skip = [name for name in view_skip if name not in already]
    step_times.add("dbt_view_nodes_skipped", len(view_skip))
    layout_skip += view_skip
    if layout_skip:
        skip = (skip or ["--exclude"]) + layout_skip
    # dbt's default (eager) would also leave out every test with an excluded parent: column_rules of a fact
    # reads the reference dimensions its values must exist in, and would silently not run. Exactly the
    # named nodes are skipped (reference_nodes lists their own tests by name).
    return skip + ["--indirect-selection", "empty"] if skip else []


def _forget_build_state(warehouse: Path) -> None:
    """Every stored fingerprint dropped: a build that may rebuild any node (--select, --full-refresh) keeps no claim."""
    con = connect(warehouse)
    try:
        reference_nodes.forget_all_but(con, set())
    finally:
        con.close()


def _new_layouts(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Layouts of the current deliveries no build has passed yet; every layout when there is no register to ask."""
    if not table_exists(con, RAW_SCHEMA, REGISTER):
        return {reference_nodes.LEGACY, reference_nodes.V1}
    rows = con.execute(
        f"select distinct layout from {RAW_SCHEMA}.{REGISTER} where status = 'current' and build_status is null"
    ).fetchall()
    return {row[0] for row in rows}


def _parse(key: str):
    """The parsed project, so every round of the build reuses it instead of parsing again.

    Taken from parse_cache when nothing the parse reads has changed since the last one (a monthly build).
    """
    from dbt.cli.main import dbtRunner

    cached = parse_cache.load(key)
    if cached is not None:
        step_times.add("dbt_parse_cached", 1)
        return cached
    result = dbtRunner().invoke(["parse", "--quiet", *_project_args()])
    if not result.success:
        raise UserError(f"dbt parse failed: {result.exception or 'see the messages above'}")
    parse_cache.store(key, result.result)
    return result.result


def _never_built(warehouse: Path) -> list[str] | None:
    """The current deliveries no build has passed yet (what the data tests look at), or None without a register.

    Worked out here once per round instead of by a query in every test (macros/get_where_subquery.sql).
    """
    con = connect(warehouse)
    try:
        if not table_exists(con, RAW_SCHEMA, REGISTER):
            return None  # left to the macro, as a `dbt build` by hand
        rows = con.execute(
            f"select delivery_id from {RAW_SCHEMA}.{REGISTER} where status = 'current' and build_status is null order by 1"
        ).fetchall()
    finally:
        con.close()
    return [row[0] for row in rows]


def _test_vars(never_built: list[str] | None, store_failures: bool) -> list[str]:
    """`--vars` for the data tests: which deliveries they look at, and whether they keep failing rows."""
    dbt_vars: dict = {"anpr_store_failures": store_failures}
    if never_built is not None:
        dbt_vars["anpr_new_deliveries"] = never_built
    return ["--vars", json.dumps(dbt_vars)]


def _store_failing_rows(manifest, results: list, extra: list[str]) -> None:
    """Runs the failing data tests again, keeping their failing rows this time, for _quarantine to read.

    Tests run without keeping failing rows (macros/store_failures.sql): keeping them cost every test a
    drop, a create and a commit, and they are read only here. `extra` gives the same deliveries and flags
    as the round that failed and the models are as that round built them, so each test fails on the same
    rows; its outcome and messages (already shown) are not used.
    """
    failed_tests = sorted({r.node.name for r in results if r.node.resource_type == "test" and str(r.status) == "fail"})
    if not failed_tests:
        return
    from dbt.cli.main import dbtRunner

    result = dbtRunner(manifest=manifest).invoke(
        ["build", "--log-level", "none", "--select", *failed_tests, *extra, *_project_args()]
    )
    raise_if_locked(result)


def _dbt_build(manifest, quiet: bool, extra: list[str]) -> list | None:
    """Runs `dbt build`; None on success, else dbt's results of the failing nodes."""
    from dbt.cli.main import dbtRunner

    RUN_RESULTS.unlink(missing_ok=True)  # see _write_run_results
    result = dbtRunner(manifest=manifest).invoke(
        ["build", "--no-write-json", *(["--quiet"] if quiet else []), *extra, *_project_args()]
    )
    _time_nodes(result)
    with step_times.timed("dbt_run_results_s"):
        _write_run_results(result)
    if result.success:
        return None
    raise_if_locked(result)
    if result.exception is not None or result.result is None:
        raise UserError(f"dbt build failed: {result.exception}")
    return [r for r in result.result.results if str(r.status) in ("fail", "error")]


def _write_run_results(result) -> None:
    """target/run_results.json, as dbt writes it, without the manifest dbt writes beside it.

    Why: `dbt build` ends by serialising the whole manifest to target/manifest.json (2 MB, ~0.45 CPU s,
    a fixed cost of every monthly build). The build runs the parsed project it was handed (parse_cache),
    whose manifest.json the parse already wrote: the file differs only by the compiled SQL of the nodes
    that ran, which nothing reads (exports, the report and snapshots read exposures, saved queries,
    descriptions and configs). run_results.json is small and read by tests and the benchmark.

    When dbt raises it returns no results and nothing is written; the file was removed before dbt started,
    so the previous build's (or an earlier round's) results cannot be read as this build's.
    """
    run_result = getattr(result, "result", None)
    if hasattr(run_result, "write"):
        run_result.write(str(RUN_RESULTS))


def _time_nodes(result) -> None:
    """dbt's own seconds per kind of node (models, tests, seeds...) and how many ran, into the build's steps.

    Nodes run on several threads, so the sums can exceed the wall time of `dbt build` (dbt_build_s);
    the wall time minus what the threads did is dbt's fixed cost (start-up, compiling, bookkeeping).
    """
    for r in getattr(getattr(result, "result", None), "results", None) or []:
        kind = getattr(r.node.resource_type, "value", r.node.resource_type)
        step_times.add(f"dbt_{kind}_s", float(r.execution_time or 0.0))
        step_times.add(f"dbt_{kind}_count", 1)


def _project_args() -> list[str]:
    return ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROFILES_DIR)]


def _quarantine(con: duckdb.DuckDBPyConnection, manifest, results: list, earlier: list[Quarantined]) -> list[Quarantined]:
    """Marks the deliveries behind the failing tests `failed`; raises BuildFailed if any failure has none."""
    verdicts = [_verdict(con, manifest, result) for result in results]
    unexplained = [v for v in verdicts if not v.deliveries]
    if unexplained or not verdicts:
        lines = [f"  {v.node}: {v.detail}" + (f" (rows of {', '.join(v.deliveries)})" if v.deliveries else "") for v in verdicts]
        note = f"; earlier in this build quarantined: {', '.join(q.delivery_id for q in earlier)}" if earlier else ""
        raise BuildFailed(
            "dbt build failed and no newly loaded delivery explains it (nothing quarantined" + note + "):\n" + "\n".join(lines)
        )
    by_delivery: dict[str, list[str]] = {}
    for verdict in verdicts:
        for delivery_id in verdict.deliveries:
            by_delivery.setdefault(delivery_id, []).append(f"{verdict.node} ({verdict.detail})")
    now = _utc_now()
    newly = []
    for delivery_id, tests in sorted(by_delivery.items()):
        con.execute(
            f"update {RAW_SCHEMA}.{REGISTER} set build_status = 'failed', build_failure = ?, built_at = ? where delivery_id = ?",
            ["; ".join(tests), now, delivery_id],
        )
        municipality, month = con.execute(
            f"select municipality_code, strftime(period_start, '%Y-%m') from {RAW_SCHEMA}.{REGISTER} where delivery_id = ?",
            [delivery_id],
        ).fetchone()
        newly.append(Quarantined(delivery_id, municipality, month, tests))
    return newly


def _verdict(con: duckdb.DuckDBPyConnection, manifest, result) -> Verdict:
    node = result.node
    if node.resource_type != "test" or str(result.status) != "fail":
        return Verdict(node.unique_id, f"{node.resource_type} {result.status}: {(result.message or '').strip()[:200]}", ())
    detail = f"{result.failures} failing row{'s' if result.failures != 1 else ''}"
    detail += _broken_rules(con, node)
    if _tests_the_register(node):
        return Verdict(node.name, detail + "; a test of the register itself", ())
    keys = _failing_keys(con, manifest, node)
    if keys is None:
        return Verdict(node.name, detail + "; its rows name no delivery", ())
    deliveries = _never_built_deliveries(con, *keys)
    if not deliveries:
        return Verdict(node.name, detail + "; only in deliveries that passed an earlier build", ())
    return Verdict(node.name, detail, deliveries)


def _tests_the_register(node) -> bool:
    """A test of the register's own nodes: a model's test names it as `attached_node`; a source's test
    (column_rules_cbs_deliveries) has none, so it is known by reading nothing but register nodes."""
    if getattr(node, "attached_node", None) in REGISTER_NODES:
        return True
    parents = set(getattr(getattr(node, "depends_on", None), "nodes", None) or ())
    return bool(parents) and parents <= set(REGISTER_NODES)


def _broken_rules(con: duckdb.DuckDBPyConnection, node, shown: int = 3) -> str:
    """`: <rule>; <rule>` from the stored failing rows of a test that names them (column_rules), else ''.

    One column_rules node checks every rule of a model, so its name alone no longer says what broke.
    """
    if "failed_rules" not in _columns(con, node.schema, node.alias):
        return ""
    rules = sorted(
        {
            rule
            for (text,) in con.execute(f'select distinct failed_rules from "{node.schema}"."{node.alias}"').fetchall()
            for rule in (text or "").split("; ")
            if rule
        }
    )
    more = f"; and {len(rules) - shown} more" if len(rules) > shown else ""
    return (": " + "; ".join(rules[:shown]) + more) if rules else ""


def _failing_keys(con: duckdb.DuckDBPyConnection, manifest, node) -> tuple[str, tuple[str, ...]] | None:
    """(SQL giving the failing rows' delivery identity, which identity) or None when the rows cannot tell.

    The identity is read from the stored failing rows, or else from the tested model's rows that match
    them (built-in tests such as unique or relationships return only the tested value).
    """
    failing_relation = f'"{node.schema}"."{node.alias}"'
    failing_columns = _columns(con, node.schema, node.alias)
    identity = _identity(failing_columns)
    if identity:
        return f"select distinct {_quoted(identity)} from {failing_relation}", identity
    tested = _tested_relation(manifest, getattr(node, "attached_node", None))
    if tested is None:
        return None
    tested_columns = _columns(con, *tested)
    identity = _identity(tested_columns)
    pairs = [(c, c) for c in failing_columns if c in tested_columns]
    if getattr(node, "column_name", None) in tested_columns:
        pairs += [(c, node.column_name) for c in failing_columns if c in RENAMED_TESTED_COLUMN]
    if not identity or not pairs:
        return None
    on = " and ".join(f'tested."{t}" is not distinct from failing."{f}"' for f, t in pairs)
    sql = (
        f'select distinct {_quoted(identity, "tested")} from "{tested[0]}"."{tested[1]}" as tested '
        f"inner join {failing_relation} as failing on {on}"
    )
    return sql, identity


def _tested_relation(manifest, unique_id: str | None) -> tuple[str, str] | None:
    if not unique_id:
        return None
    if unique_id in manifest.sources:
        source = manifest.sources[unique_id]
        return source.schema, source.identifier
    node = manifest.nodes.get(unique_id)
    return (node.schema, node.alias) if node is not None else None


def _never_built_deliveries(con: duckdb.DuckDBPyConnection, keys_sql: str, identity: tuple[str, ...]) -> tuple[str, ...]:
    """The flowing deliveries the failing rows belong to that no build has passed yet.

    Rows that name only a municipality (dimensions "as last delivered", such as dim_location) blame its
    newest never-built month, the one they show; should an older month be the culprit, the next round
    finds it.
    """
    if identity == ("delivery_id",):
        on = "deliveries.delivery_id = failing.delivery_id"
    else:
        month = {"month_start": "period_start", "period_start": "period_start", "period_code": "period_code"}
        on = "deliveries.municipality_code = failing.municipality_code"
        on += "".join(f" and deliveries.{month[col]} = failing.{col}" for col in identity[1:])
    newest_only = (
        ""
        if len(identity) > 1 or identity == ("delivery_id",)
        else ("qualify row_number() over (partition by deliveries.municipality_code order by deliveries.period_start desc) = 1")
    )
    rows = con.execute(
        f"""select distinct deliveries.delivery_id from {DELIVERIES_VIEW} as deliveries
            inner join ({keys_sql}) as failing on {on}
            where deliveries.is_flowing and deliveries.build_status is null
            {newest_only}
            order by 1"""
    ).fetchall()
    return tuple(r[0] for r in rows)


def _identity(columns: list[str]) -> tuple[str, ...] | None:
    return next((identity for identity in IDENTITIES if set(identity) <= set(columns)), None)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?", [schema, name]
        ).fetchall()
    ]


def _quoted(columns: tuple[str, ...], alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _mark_built_ok(con: duckdb.DuckDBPyConnection, started: dt.datetime) -> None:
    """The deliveries this successful build passed on are its month's last good state.

    Deliveries loaded after the build started are left alone: the build did not see them.
    """
    con.execute(
        f"""update {RAW_SCHEMA}.{REGISTER} set build_status = 'ok', build_failure = null, built_at = ?
            where loaded_at <= ? and delivery_id in (select delivery_id from {DELIVERIES_VIEW} where is_flowing)""",
        [_utc_now(), started],
    )


def _summary(con: duckdb.DuckDBPyConnection, quarantined: list[Quarantined]) -> list[str]:
    """One warning line per quarantined delivery: what failed and what its month shows instead.

    Current deliveries quarantined by an earlier build are repeated (one line each), so a monthly run
    keeps saying which months wait for a new version.
    """
    lines = []
    for q in quarantined:
        lines.append(f"build: {q.delivery_id} failed {'; '.join(q.tests)}; {_month_state(con, q.municipality_code, q.month)}")
    earlier = con.execute(
        f"""select delivery_id, municipality_code, strftime(period_start, '%Y-%m') from {DELIVERIES_VIEW}
            where is_current and build_status = 'failed' order by municipality_code, period_start"""
    ).fetchall()
    for delivery_id, municipality, month in earlier:
        if delivery_id not in {q.delivery_id for q in quarantined}:
            lines.append(
                f"build: {delivery_id} failed an earlier build (anpr deliveries); {_month_state(con, municipality, month)}"
            )
    if lines:
        lines.append("build: everything else built and tested (anpr deliveries shows the build status)")
    return lines


def _month_state(con: duckdb.DuckDBPyConnection, municipality: str, month: str) -> str:
    kept = con.execute(
        f"""select delivery_id from {DELIVERIES_VIEW}
            where is_flowing and municipality_code = ? and strftime(period_start, '%Y-%m') = ?""",
        [municipality, month],
    ).fetchone()
    state = f"keeps {kept[0]} (last good)" if kept else "is left out of the marts (no delivery of it built ok before)"
    return f"{municipality} {month} {state}"


def _upgrade_register(warehouse: Path) -> None:
    """Gives a register from before build statuses its new columns (a warehouse without one is left to dbt)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as wh")
        for statement in upgrade_register_sql("wh") if table_exists(con, RAW_SCHEMA, REGISTER, "wh") else []:
            con.execute(statement)
    finally:
        con.close()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
