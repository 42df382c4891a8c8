"""What the warehouse's commands do: generate, load, deliveries, run, build, metrics, export, report.

The parser (cli.py) names these handlers; each is a thin function over the module that
does the work, and imports its heavy dependencies (dbt, MetricFlow, vl-convert) only when
it runs. The vendor API's commands are in service/commands.py, the audit's in
audit/command.py, `anpr docs` in docs_site.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .cli_args import free_warehouse as _free_warehouse
from .cli_args import months_between, output_folder
from .cli_args import warehouse_path as _warehouse
from .errors import ExitCode, UserError
from .warehouse import busy_from, is_lock_error


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import GenerateRequest, generate_many

    months = months_between(args.month, args.through or args.month)
    if not months:
        raise UserError("--through is before --month")
    requests = [
        GenerateRequest(
            municipality=muni,
            year=year,
            month=month,
            layout=args.layout,
            seed=args.seed,
            locations=args.locations,
            version=args.version,
            min_cell=args.min_cell,
            rounding_base=args.rounding_base,
            as_zip=args.zip,
            totals=args.totals,
            **({"protection": args.protection} if args.protection else {}),
        )
        for muni in args.municipality
        for (year, month) in months
    ]
    try:
        for path in generate_many(requests, args.out, args.jobs):
            print(path)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .load import DeliveryRefused
    from .load.batch import load_many

    warehouse = _warehouse(args)
    refused = 0
    # checks run in worker processes, each delivery is written in order here (anpr_warehouse/load/batch.py)
    outcomes = load_many(args.paths, warehouse, supersedes=args.supersedes, wait=args.wait, audit=args.audit)
    for path, outcome in tqdm(
        outcomes, total=len(args.paths), desc="load", unit="delivery", disable=len(args.paths) < 2, file=sys.stderr
    ):
        try:
            result = outcome.get()
        except DeliveryRefused as exc:
            refused += 1
            print(f"REFUSED {path}: nothing of this delivery was loaded", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            continue
        except UserError:
            raise
        except Exception as exc:  # last line of defence: a checker bug must not show a user a traceback
            if is_lock_error(exc):
                raise busy_from(exc, args.wait) from None
            raise UserError(
                f"internal error while checking {path}: {type(exc).__name__}: {_one_line(exc)}; nothing was loaded"
            ) from None
        print(
            f"{result.status}: {result.message}"
            + (f" ({result.rows} rows)" if result.rows else "")
            + (f"; disclosure audit: {result.at_risk} cells at risk" if result.at_risk is not None else "")
        )
    if refused:
        print(f"{refused} of {len(args.paths)} deliveries refused", file=sys.stderr)
        return ExitCode.REFUSED
    return ExitCode.OK


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def cmd_deliveries(args: argparse.Namespace) -> int:
    from .warehouse import print_register

    return print_register(_warehouse(args), args.wait)


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
    if os.environ.get(PLAN_AHEAD_ENV, "1") != "0":
        _plan_ahead(warehouse)


PLAN_AHEAD_ENV = "ANPR_PLAN_AHEAD"  # "0": leave planning to the first reader (the test suite's many small builds)


def _plan_ahead(warehouse: Path) -> None:
    """Stores the query plans of the standard questions for the new snapshot's definitions.

    Planning is MetricFlow's slow part (seconds per process); with the plans stored, the export and the
    report that follow a build plan nothing. When the definitions did not change, they are stored already
    and this costs milliseconds. A failure here is not a failed build: readers plan for themselves.
    """
    from .metrics import MetricLayer
    from .question_batch import plan_ahead
    from .snapshots import current_snapshot

    started = time.monotonic()
    try:
        layer = MetricLayer.on_snapshot(current_snapshot(warehouse))
        plan_ahead(layer, layer.questions)
    except UserError as exc:
        print(f"plans:       not stored ({exc}); the first export or report plans its own queries")
        return
    print(f"plans:       the standard questions' query plans are stored ({time.monotonic() - started:.1f} s)")


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
    out = output_folder(args.out)
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
        packages = export_vendor(source, args.vendor, out, args.municipality, months, entitlements=args.entitlements)
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
    out = output_folder(args.out)
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
        print(build_report(warehouse, municipality, out, month, args.lang, visible=visible))
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


def _run_docs(args: argparse.Namespace, warehouse: Path, out: Path) -> None:
    from .docs_site import build_docs

    print("docs: dbt docs generate --static ...", file=sys.stderr)
    print(f"docs:        {build_docs(warehouse, out / 'docs')}")


# Steps of `anpr run` after loading, in order (the docs before the report, which links to them).
RUN_STEPS: list[Callable[[argparse.Namespace, Path, Path], None]] = [_run_build, _run_export, _run_docs, _run_report]


def _split_commas(values: list[str]) -> list[str]:
    """`--metrics a,b c` and `--metrics a b c` mean the same."""
    return [part for value in values for part in value.split(",") if part]
