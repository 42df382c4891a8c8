"""Sub-commands beyond generate/load: run, build, metrics, export, report.

Kept apart from cli.py so each stays short; each command imports its heavy
dependencies (dbt, MetricFlow, vl-convert) only when it runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .cli_args import month_arg
from .errors import UserError
from .paths import PROJECT_ROOT, default_warehouse


def _warehouse(args: argparse.Namespace) -> Path:
    return (args.warehouse or default_warehouse()).resolve()


def _free_warehouse(args: argparse.Namespace) -> Path:
    """The warehouse path, once no other process holds it (MetricFlow opens it read-write); else exit 3."""
    from .warehouse import wait_until_free

    warehouse = _warehouse(args)
    wait_until_free(warehouse, args.wait)
    return warehouse


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on sample data: generate, load, build, export, report."""
    from tqdm import tqdm

    from .generate import generate_many
    from .load import DeliveryRefused, load_delivery
    from .sample import sample_paths, sample_requests

    out = args.out.resolve()
    warehouse = _free_warehouse(args)  # never delete a file another process is using
    if warehouse.exists() and args.fresh:
        warehouse.unlink()
    delivery_dir = sample_paths(out)
    requests = sample_requests(args.seed)
    paths = generate_many(requests, delivery_dir, label="1/5 generate sample")
    for path in tqdm(paths, desc="2/5 load", unit="delivery", file=sys.stderr):
        try:
            result = load_delivery(path, warehouse, wait=args.wait)
        except DeliveryRefused as exc:
            raise UserError(f"sample delivery {path} was refused: " + "; ".join(map(str, exc.problems))) from None
        tqdm.write(f"  {result.status}: {result.message}", file=sys.stderr)
    print(f"deliveries:  {delivery_dir}")
    print(f"warehouse:   {warehouse}")
    for step in RUN_STEPS:
        step(args, warehouse, out)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """`dbt build` (seeds, models, tests, unit tests) on the warehouse; a delivery failing a test is quarantined."""
    from .build import build_warehouse

    build_warehouse(_warehouse(args), args.select, wait=args.wait, full_refresh=args.full_refresh)
    _publish(_warehouse(args), reuse=not (args.full_refresh or args.select))  # reuse: only changed partitions rewritten
    return 0


def _publish(warehouse: Path, reuse: bool = True) -> None:
    """Publishes the built warehouse as the readers' new snapshot (snapshots.py)."""
    from .snapshots import publish_snapshot, stable_path

    snapshot_id = publish_snapshot(warehouse, reuse=reuse)
    print(f"snapshot:    {snapshot_id} (readers: {stable_path(warehouse)})")


def cmd_metrics_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .reading import snapshot_layer

    layer = snapshot_layer(_warehouse(args))
    rows = [
        (m["name"], m["type"], m.get("label") or "", (m.get("description") or "")[:90])
        for m in sorted(layer.public_metrics(), key=lambda m: m["name"])
    ]
    print(tabulate(rows, headers=("metric", "type", "label", "description")))
    return 0


def cmd_metrics_query(args: argparse.Namespace) -> int:
    from .reading import snapshot_layer

    layer = snapshot_layer(_warehouse(args))
    result = layer.query(_split_commas(args.metrics), _split_commas(args.group_by), args.where)
    sys.stdout.write(result.render(args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .entitlements import VENDORS_FILE, entitled_municipalities
    from .export import export_vendor
    from .reading import published_database

    months = [f"{y:04d}-{m:02d}" for y, m in args.month] if args.month else None
    # Entitlements first: a request the vendor may not make is refused without waiting for the warehouse.
    _, wanted = entitled_municipalities(args.vendor, args.municipality, args.entitlements or VENDORS_FILE)
    with tempfile.TemporaryDirectory(prefix="anpr-protect-") as workdir:
        if args.protect:  # disclosure audit: extra suppression in a copy of the warehouse (anpr_warehouse/audit/protect.py)
            from .audit.protect import protected_copy

            # the audit needs CBS's raw cells, which only the warehouse file holds: wait until no writer has it
            source, lines = protected_copy(_free_warehouse(args), wanted, months, Path(workdir))
            print("\n".join(lines), file=sys.stderr)
        else:
            source = published_database(_warehouse(args))
        packages = export_vendor(
            source, args.vendor, args.out.resolve(), args.municipality, months, entitlements=args.entitlements
        )
    for package in packages:
        print(package)
    from .audit.register import export_warnings  # disclosure audit of the source deliveries

    for line in export_warnings(packages):
        print(line, file=sys.stderr)
    if not packages:
        print("nothing to export: no loaded months for the entitled municipalities", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The report for one municipality, or for each of a vendor's; a vendor's report compares only its municipalities."""
    from .entitlements import VENDORS_FILE, entitled_municipalities
    from .reading import published_database
    from .report import build_report
    from .report.site import warehouse_municipalities

    month = f"{args.month[0]:04d}-{args.month[1]:02d}" if args.month else None
    warehouse = published_database(_warehouse(args))
    requested = [args.municipality] if args.municipality else None
    visible = None  # analyst view: every municipality in the warehouse
    if args.vendor:
        vendor, requested = entitled_municipalities(args.vendor, requested, args.vendors or VENDORS_FILE)
        loaded = set(warehouse_municipalities(warehouse, read_only=True))
        visible = [m for m in vendor.municipalities if m in loaded]
    if not requested:
        raise UserError("give --municipality (or --vendor for every municipality the vendor is entitled to)")
    for municipality in requested:
        print(build_report(warehouse, municipality, args.out.resolve(), month, args.lang, visible=visible))
    return 0


def _run_build(args: argparse.Namespace, warehouse: Path, out: Path) -> None:
    from .build import build_warehouse

    print("3/5 dbt build (models and tests) ...", file=sys.stderr)
    build_warehouse(warehouse, quiet=True, wait=args.wait)
    print("models:      built and tested (dbt build)")
    _publish(warehouse)


SAMPLE_VENDOR = "argaleo"


def _run_export(args: argparse.Namespace, warehouse: Path, out: Path) -> None:
    from .export import export_vendor
    from .reading import published_database

    print(f"4/5 export for sample vendor {SAMPLE_VENDOR} ...", file=sys.stderr)
    packages = export_vendor(published_database(warehouse), SAMPLE_VENDOR, out / "exports")
    print(f"exports:     {out / 'exports' / SAMPLE_VENDOR} ({len(packages)} packages)")


def _run_report(args: argparse.Namespace, warehouse: Path, out: Path) -> None:
    from .reading import published_database, reading_layer
    from .report import build_report
    from .sample import SAMPLE_MUNICIPALITIES

    print("5/5 report for the sample municipalities ...", file=sys.stderr)
    snapshot = published_database(warehouse)
    layer = reading_layer(snapshot)
    for municipality in SAMPLE_MUNICIPALITIES:
        index = build_report(snapshot, municipality, out / "report", layer=layer, docs=out / "docs" / "index.html")
        print(f"report:      {index}")


# Steps of `anpr run` after loading, in order.
RUN_STEPS: list[Callable[[argparse.Namespace, Path, Path], None]] = [_run_build, _run_export, _run_report]


def _run_docs(args: argparse.Namespace, warehouse: Path, out: Path) -> None:
    from .docs_site import build_docs

    print("docs: dbt docs generate --static ...", file=sys.stderr)
    print(f"docs:        {build_docs(warehouse, out / 'docs')}")


RUN_STEPS.insert(RUN_STEPS.index(_run_report), _run_docs)  # before the report, which links to it


def _split_commas(values: list[str]) -> list[str]:
    """`--metrics a,b c` and `--metrics a b c` mean the same."""
    return [part for value in values for part in value.split(",") if part]


def register(sub: argparse._SubParsersAction, warehouse_option: Callable[[argparse.ArgumentParser], None]) -> None:
    run = sub.add_parser("run", help="the main job on the shipped sample: generate, load, build, export, report")
    run.add_argument("--out", type=Path, default=PROJECT_ROOT / "out", help="where outputs go (default out/)")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--keep", dest="fresh", action="store_false", help="keep an existing warehouse instead of starting fresh")
    warehouse_option(run)
    run.set_defaults(func=cmd_run)

    metrics = sub.add_parser("metrics", help="the semantic layer: list metrics, query them")
    metrics_sub = metrics.add_subparsers(dest="metrics_command", required=True)
    listing = metrics_sub.add_parser("list", help="metrics with their descriptions")
    warehouse_option(listing)
    listing.set_defaults(func=cmd_metrics_list)
    query = metrics_sub.add_parser("query", help="query metrics through MetricFlow (completeness travels with every value)")
    query.add_argument("--metrics", nargs="+", required=True, action="extend")
    query.add_argument(
        "--group-by", nargs="+", default=[], action="extend", help="e.g. metric_time__month zone vehicle_category fuel_type"
    )
    query.add_argument(
        "--where", action="append", default=[], help="MetricFlow filter, e.g. \"{{ Entity('municipality') }} = 'GM0344'\""
    )
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    warehouse_option(query)
    query.set_defaults(func=cmd_metrics_query)

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
    warehouse_option(export)
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="the standard visualisations as a static offline site")
    report.add_argument("--municipality", help="default with --vendor: every municipality the vendor is entitled to")
    report.add_argument("--vendor", help="report as this vendor: only its municipalities, also on the comparison page")
    report.add_argument("--vendors", type=Path, help="vendor entitlements file (default: vendors.yml)")
    report.add_argument("--month", type=month_arg, help="YYYY-MM (default: the latest loaded month)")
    report.add_argument("--lang", choices=("nl", "en"), default="nl", help="labels of codes (page texts are Dutch)")
    report.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "report")
    warehouse_option(report)
    report.set_defaults(func=cmd_report)

    build = sub.add_parser("build", help="dbt build: seeds, models, data tests and unit tests on the warehouse")
    build.add_argument("--select", nargs="+", help="dbt node selection (default: everything)")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model and test everything (after a model, seed or reference-data change); "
        "default: rebuild only the municipality-months whose delivery changed",
    )
    warehouse_option(build)
    build.set_defaults(func=cmd_build)

    from .service.cli import register as register_service

    register_service(sub, warehouse_option)

    from .audit.command import register as register_audit  # disclosure audit (anpr_warehouse/audit/)

    register_audit(sub, warehouse_option)

    from .docs_site import register as register_docs

    register_docs(sub, warehouse_option)
