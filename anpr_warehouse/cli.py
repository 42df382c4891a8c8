"""`anpr`: the one command-line entry point of the warehouse.

Each sub-command lives in its own module; this file only parses arguments,
prints results and turns known errors into clear messages and exit codes
(`errors.ExitCode`, defined there once).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_args import month_arg, months_between
from .errors import ExitCode, UserError, exit_codes_text
from .paths import default_warehouse
from .warehouse import DEFAULT_WAIT_SECONDS, busy_from, is_lock_error


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
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


def warehouse_path(args: argparse.Namespace) -> Path:
    return (args.warehouse or default_warehouse()).resolve()


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

    from .load import DeliveryRefused, load_delivery

    warehouse = warehouse_path(args)
    refused = 0
    for path in tqdm(args.paths, desc="load", unit="delivery", disable=len(args.paths) < 2, file=sys.stderr):
        try:
            result = load_delivery(path, warehouse, supersedes=args.supersedes, wait=args.wait, audit=args.audit)
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

    return print_register(warehouse_path(args), args.wait)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anpr", description="Warehouse for CBS-enriched ANPR statistics (city logistics).", epilog=exit_codes_text()
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
    gen.set_defaults(func=cmd_generate)

    load = sub.add_parser("load", help="check deliveries and load them into the warehouse")
    load.add_argument("paths", nargs="+", type=Path, help="delivery folders or .zip files")
    load.add_argument("--supersedes", help="legacy layout only: the delivery id this delivery corrects")
    load.add_argument(
        "--no-audit",
        dest="audit",
        action="store_const",
        const=False,
        default=None,
        help="skip the disclosure audit of each delivery (anpr audit; about 1 s per location-month;"
        " ANPR_LOAD_AUDIT=0 makes skipping the default)",
    )
    _warehouse_option(load)
    load.set_defaults(func=cmd_load)

    reg = sub.add_parser("deliveries", help="list the delivery register")
    _warehouse_option(reg)
    reg.set_defaults(func=cmd_deliveries)

    from . import commands

    commands.register(sub, _warehouse_option)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
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
