"""`anpr`: the one command-line entry point of the warehouse, and the one place its commands are declared.

Read `build_parser()` top to bottom as the command reference: every sub-command, option,
default and help text of `anpr` is here (the README's command table is held to it by
tests/python/test_cli_readme.py). What a command does lives in the module that does the
work; the parser names it as `handler="module:function"` (relative to the package) and
`main()` imports it only when that command runs, so `anpr --help` never loads dbt,
MetricFlow, HiGHS or FastAPI. This module parses, dispatches and turns known errors into
one line and an exit code (`errors.ExitCode`, defined there once); nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from .cli_args import month_arg
from .errors import ExitCode, UserError, exit_codes_text
from .paths import PROJECT_ROOT
from .warehouse import DEFAULT_WAIT_SECONDS, busy_from, is_lock_error

Handler = Callable[[argparse.Namespace], int]


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    """`--warehouse` and `--wait`: every command that touches the warehouse takes both (the README says so once)."""
    parser.add_argument(
        "--warehouse", type=Path, default=None, help="DuckDB warehouse file (default: $ANPR_WAREHOUSE or warehouse/anpr.duckdb)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait while another process holds the warehouse, then exit 3 (default 60)",
    )


def _vendors_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vendors", type=Path, default=None, help="vendor entitlements file (default: vendors.yml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr", description="Warehouse for CBS-enriched ANPR statistics (city logistics).", epilog=exit_codes_text()
    )
    sub = parser.add_subparsers(dest="command", required=True)

    # --- deliveries in: generate, load, deliveries ------------------------------------------------------------------
    gen = sub.add_parser("generate", help="write realistic synthetic CBS deliveries")
    gen.add_argument("--municipality", nargs="+", default=["GM0344"], help="GM codes (default GM0344)")
    gen.add_argument("--month", type=month_arg, required=True, help="first month, YYYY-MM")
    gen.add_argument("--through", type=month_arg, help="last month, YYYY-MM (default: --month)")
    gen.add_argument("--layout", choices=("v1", "legacy"), default="v1")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--locations", type=int, default=12, help="camera sites per municipality")
    gen.add_argument("--version", type=int, default=1, help="delivery version; > 1 writes a correction")
    gen.add_argument("--min-cell", type=int, default=10, help="SDC minimum distinct vehicles per cell")
    gen.add_argument("--rounding-base", type=int, default=5, help="SDC rounding base")
    gen.add_argument("--zip", action="store_true", help="write each delivery as a .zip")
    gen.add_argument(
        "--totals",
        choices=("cube", "nested"),
        default="cube",
        help="totals in T03/T04: every combination (cube) or nested within each other (nested)",
    )
    gen.add_argument(
        "--protection",
        choices=("table", "linked", "audited"),
        default=None,
        help="disclosure control: each table on its own (as CBS), across linked tables, or linked and then"
        " audited until no cell is at risk (default: audited, or $ANPR_GENERATE_PROTECTION)",
    )
    gen.add_argument("--out", type=Path, default=Path("deliveries"))
    gen.add_argument("--jobs", type=int, default=None, help="parallel processes (default: one per CPU)")
    gen.set_defaults(handler="commands:cmd_generate")

    load = sub.add_parser("load", help="check deliveries and load them into the warehouse")
    load.add_argument("paths", nargs="+", type=Path, help="delivery folders or .zip files")
    load.add_argument("--supersedes", help="legacy layout only: the delivery id this delivery corrects")
    load.add_argument(
        "--no-audit",
        dest="audit",
        action="store_const",
        const=False,
        default=None,
        help="skip the disclosure audit of each delivery (anpr audit; about 5 s for a 40-location month on 2 cores;"
        " ANPR_LOAD_AUDIT=0 makes skipping the default)",
    )
    _warehouse_option(load)
    load.set_defaults(handler="commands:cmd_load")

    reg = sub.add_parser("deliveries", help="list the delivery register")
    _warehouse_option(reg)
    reg.set_defaults(handler="commands:cmd_deliveries")

    # --- the main job on the sample ---------------------------------------------------------------------------------
    run = sub.add_parser("run", help="the main job on the shipped sample: generate, load, build, export, report")
    run.add_argument("--out", type=Path, default=PROJECT_ROOT / "out", help="where outputs go (default out/)")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--keep", dest="fresh", action="store_false", help="keep an existing warehouse instead of starting fresh")
    _warehouse_option(run)
    run.set_defaults(handler="commands:cmd_run")

    # --- reading: metrics, export, report ---------------------------------------------------------------------------
    metrics = sub.add_parser("metrics", help="the semantic layer: list metrics, query them")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    listing = metrics_sub.add_parser("list", help="metrics with their descriptions")
    _warehouse_option(listing)
    listing.set_defaults(handler="commands:cmd_metrics_list")
    query = metrics_sub.add_parser("query", help="query metrics through MetricFlow (completeness travels with every value)")
    query.add_argument("--metrics", nargs="+", required=True, action="extend")
    query.add_argument(
        "--group-by", nargs="+", default=[], action="extend", help="e.g. metric_time__month zone vehicle_category fuel_type"
    )
    query.add_argument(
        "--where", action="append", default=[], help="MetricFlow filter, e.g. \"{{ Entity('municipality') }} = 'GM0344'\""
    )
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _warehouse_option(query)
    query.set_defaults(handler="commands:cmd_metrics_query")

    export = sub.add_parser("export", help="vendor packages per municipality and month (entitlements in vendors.yml)")
    export.add_argument("--vendor", required=True)
    export.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "exports")
    export.add_argument("--municipality", nargs="+", help="default: every municipality the vendor is entitled to")
    export.add_argument("--month", nargs="+", type=month_arg, help="YYYY-MM (default: every loaded month)")
    export.add_argument("--entitlements", type=Path, default=None, help="vendor entitlements file (default: vendors.yml)")
    export.add_argument(
        "--protect",
        action="store_true",
        help="hide more published cells in the packages until their own disclosure audit finds none (anpr audit)",
    )
    export.add_argument(
        "--vendors", dest="entitlements", type=Path, help="the same as --entitlements (as for anpr serve and anpr report)"
    )
    _warehouse_option(export)
    export.set_defaults(handler="commands:cmd_export")

    report = sub.add_parser("report", help="the standard visualisations as a static offline site")
    report.add_argument("--municipality", help="default with --vendor: every municipality the vendor is entitled to")
    report.add_argument("--vendor", help="report as this vendor: only its municipalities, also on the comparison page")
    report.add_argument("--vendors", type=Path, help="vendor entitlements file (default: vendors.yml)")
    report.add_argument("--month", type=month_arg, help="YYYY-MM (default: the latest loaded month)")
    report.add_argument("--lang", choices=("nl", "en"), default="nl", help="language of the pages and of code labels")
    report.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "report")
    _warehouse_option(report)
    report.set_defaults(handler="commands:cmd_report")

    # --- building the warehouse -------------------------------------------------------------------------------------
    build = sub.add_parser("build", help="dbt build: seeds, models, data tests and unit tests on the warehouse")
    build.add_argument("--select", nargs="+", help="dbt node selection (default: everything)")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model and test everything (after a model, seed or reference-data change); "
        "default: rebuild only the municipality-months whose delivery changed",
    )
    _warehouse_option(build)
    build.set_defaults(handler="commands:cmd_build")

    # --- the vendor API (anpr_warehouse/service/) -------------------------------------------------------------------
    snapshots = sub.add_parser("snapshots", help="published read-only snapshots of the warehouse (what readers and the API use)")
    _warehouse_option(snapshots)
    snapshots.set_defaults(handler="service.commands:cmd_snapshots")

    serve = sub.add_parser("serve", help="the vendor API (HTTP) on the newest published snapshot")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--rate", type=float, default=50.0, help="requests per second per key (sustained)")
    serve.add_argument("--burst", type=int, default=100, help="requests per key in a burst")
    _warehouse_option(serve)
    _vendors_option(serve)
    serve.set_defaults(handler="service.commands:cmd_serve")

    keys = sub.add_parser("keys", help="API keys of the vendor API (stored as salted hashes next to the warehouse)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="a new key for a vendor (or 'analyst'); printed once, as the last line")
    create.add_argument("--vendor", required=True, help="a vendor of vendors.yml, or 'analyst' to see every municipality")
    _warehouse_option(create)
    _vendors_option(create)
    create.set_defaults(handler="service.commands:cmd_keys_create")
    key_list = keys_sub.add_parser("list", help="keys with vendor, creation and revocation time (never the key)")
    _warehouse_option(key_list)
    key_list.set_defaults(handler="service.commands:cmd_keys_list")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id; it is refused from the next request on")
    revoke.add_argument("id")
    _warehouse_option(revoke)
    revoke.set_defaults(handler="service.commands:cmd_keys_revoke")

    access = sub.add_parser("access-log", help="the vendor API's access log (key, endpoint, municipality, rows, status, ms)")
    access.add_argument("--last", type=int, default=50, help="how many of the latest requests (default 50)")
    _warehouse_option(access)
    access.set_defaults(handler="service.commands:cmd_access_log")

    openapi = sub.add_parser("openapi", help="write the vendor API's OpenAPI document (default api/openapi.yaml)")
    openapi.add_argument("--out", type=Path, default=None)
    openapi.set_defaults(handler="service.commands:cmd_openapi")

    # --- disclosure audit (anpr_warehouse/audit/) -------------------------------------------------------------------
    audit = sub.add_parser(
        "audit", help="interval audit of deliveries: which confidential cells the published numbers pin down (exit 2 if any)"
    )
    audit.add_argument("paths", nargs="+", help="delivery folders or .zip files; with --warehouse: delivery ids already loaded")
    audit.add_argument("--format", choices=("text", "csv", "json"), default="text")
    audit.add_argument("--out", type=Path, help="write the report here (text, CSV or JSON); the summary still goes to stdout")
    audit.add_argument(
        "--min-cell-rule",
        action="store_true",
        help="also use what SDC implies: a published non-zero cell counts >= min_cell, a published 0 is 0, passages >= vehicles",
    )
    audit.add_argument(
        "--suggest-suppression",
        action="store_true",
        help="also list the fewest published cells to hide so that no cell is at risk (a MIP per group; to stderr)",
    )
    audit.add_argument("--jobs", type=int, default=None, help="processes for the LPs (default: one per CPU)")
    _warehouse_option(audit)
    audit.set_defaults(handler="audit.command:cmd_audit")

    # --- documentation ----------------------------------------------------------------------------------------------
    docs = sub.add_parser("docs", help="dbt's documentation (models, columns, tests, lineage) as one offline page DIR/index.html")
    docs.add_argument("--out", type=Path, required=True, help="folder for index.html")
    _warehouse_option(docs)
    docs.set_defaults(handler="docs_site:cmd_docs")
    return parser


def resolve_handler(reference: str) -> Handler:
    """`"module:function"` (relative to this package) -> the function; imported only now, when its command runs."""
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return resolve_handler(args.handler)(args)
    except UserError as exc:
        print(f"anpr {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        if not is_lock_error(exc):
            raise
        # someone took the warehouse between our wait and the open of a tool (MetricFlow, dbt)
        print(f"anpr {args.command}: {busy_from(exc)}", file=sys.stderr)
        return ExitCode.BUSY
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
