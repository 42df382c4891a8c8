"""What the vendor API's commands do: snapshots, serve, keys, access-log, openapi.

The commands and their options are declared in cli.py, which names these handlers;
heavy imports (FastAPI, uvicorn, MetricFlow) happen when a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import warehouse_path as _warehouse
from ..errors import UserError


def cmd_snapshots(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from ..snapshots import current_snapshot, list_snapshots, stable_path

    warehouse = _warehouse(args)
    snapshots = list_snapshots(warehouse)
    if not snapshots:
        print(f"no snapshots next to {warehouse}; 'anpr build' publishes one")
        return 0
    current = current_snapshot(warehouse).id
    rows = []
    for snapshot in snapshots:
        info = snapshot.info()
        rows.append(
            (
                snapshot.id,
                "*" if snapshot.id == current else "",
                info.get("published_at", ""),
                sum(t[0] for t in info.get("tables", {}).values()),
            )
        )
    print(tabulate(rows, headers=("snapshot", "current", "published_at (UTC)", "rows")))
    print(f"analysts: duckdb.connect('{stable_path(warehouse)}', read_only=True)")
    return 0


def _vendors(args: argparse.Namespace) -> Path:
    from ..entitlements import VENDORS_FILE

    return (args.vendors or VENDORS_FILE).resolve()


def cmd_serve(args: argparse.Namespace) -> int:
    import time

    import uvicorn

    from ..snapshots import current_snapshot
    from .app import create_app

    _check_serve_options(args)
    started = time.perf_counter()
    warehouse = _warehouse(args)
    snapshot = current_snapshot(warehouse)  # refuse to start without one: a clear message beats 503s
    app = create_app(warehouse, _vendors(args), args.rate, args.burst)
    _ = app.state.service.context().layer.engine  # plan once before the first request
    base = f"http://{args.host}:{args.port}"
    _check_address_free(args.host, args.port, base)
    print(f"serving snapshot {snapshot.id} of {warehouse} (ready in {time.perf_counter() - started:.1f} s)")
    print(f"listening on {base}  spec: {base}/v1/openapi.json  reference: {base}/v1/docs  OGC: {base}/ogc/", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    except SystemExit as exc:  # uvicorn's start-up failure is exit 3, which means "warehouse busy" here
        if exc.code not in (0, None):
            raise UserError(f"the server on {base} could not start or stopped (uvicorn's message above)") from None
    return 0


def _existing_warehouse(args: argparse.Namespace) -> Path:
    """The warehouse path, refused when no warehouse is there: keys and the access log live next to it, so a
    mistyped --warehouse would otherwise make a key (and its folder) for a warehouse no server ever opens."""
    warehouse = _warehouse(args)
    if not warehouse.is_file():
        raise UserError(f"no warehouse at {warehouse}; keys and the access log are kept next to it (check --warehouse)")
    return warehouse


def _check_serve_options(args: argparse.Namespace) -> None:
    """Numbers the server cannot use, refused before the seconds of start-up (uvicorn would end in a traceback, and a
    rate of 0 or less would refuse every request)."""
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: a TCP port is 1 to 65535")
    if args.rate <= 0 or args.burst < 1:
        raise UserError(f"--rate {args.rate:g} --burst {args.burst}: the rate must be above 0 and the burst at least 1")


def _check_address_free(host: str, port: int, base: str) -> None:
    """Refuses an address another process listens on, in one line, before telling anyone it is served there."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closed port's TIME_WAIT is free
            probe.bind(infos[0][4])
    except OSError as exc:
        raise UserError(f"cannot listen on {base}: {exc.strerror or exc}") from None


def cmd_keys_create(args: argparse.Namespace) -> int:
    from ..entitlements import load_vendors
    from .keys import ANALYST, KeyStore, keys_file

    if args.vendor != ANALYST and args.vendor not in load_vendors(_vendors(args)):
        raise UserError(
            f"unknown vendor {args.vendor!r}: add it to {_vendors(args)} first, or use --vendor {ANALYST} for full access"
        )
    record, key = KeyStore(keys_file(_existing_warehouse(args))).create(args.vendor)
    print(f"key {record.id} for {record.vendor} ({record.role}); it is shown once, store it now:")
    print(key)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .keys import KeyStore, keys_file

    keys = KeyStore(keys_file(_existing_warehouse(args))).list()
    print(
        tabulate(
            [(k.id, k.vendor, k.role, k.created_at, k.revoked_at or "") for k in keys],
            headers=("id", "vendor", "role", "created_at", "revoked_at"),
        )
    )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from .keys import KeyStore, keys_file

    record = KeyStore(keys_file(_existing_warehouse(args))).revoke(args.id)
    print(f"revoked key {record.id} of {record.vendor} at {record.revoked_at}")
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .access_log import access_log_file, tail

    if args.last < 1:
        raise UserError(f"--last {args.last}: give how many of the latest requests to show (1 or more)")
    entries = tail(access_log_file(_existing_warehouse(args)), args.last)
    print(
        tabulate(
            [
                (
                    e["time"],
                    e.get("key_id") or "-",
                    e.get("method", ""),
                    e["endpoint"],
                    e.get("municipality") or "",
                    "" if e.get("rows") is None else e["rows"],
                    e["status"],
                    e["ms"],
                )
                for e in entries
            ],
            headers=("time (UTC)", "key", "method", "endpoint", "municipality", "rows", "status", "ms"),
        )
    )
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from .spec import write_spec

    print(write_spec(args.out))
    return 0
