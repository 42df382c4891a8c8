"""Sub-commands of the vendor API: snapshots, serve, keys, access-log.

Registered from commands.register() with one call, so the shared CLI files stay
untouched; heavy imports (FastAPI, uvicorn, MetricFlow) happen when a command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..paths import default_warehouse


def _warehouse(args: argparse.Namespace) -> Path:
    return (args.warehouse or default_warehouse()).resolve()


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

    started = time.perf_counter()
    warehouse = _warehouse(args)
    snapshot = current_snapshot(warehouse)  # refuse to start without one: a clear message beats 503s
    app = create_app(warehouse, _vendors(args), args.rate, args.burst)
    _ = app.state.service.context().layer.engine  # plan once before the first request
    base = f"http://{args.host}:{args.port}"
    print(f"serving snapshot {snapshot.id} of {warehouse} (ready in {time.perf_counter() - started:.1f} s)")
    print(f"listening on {base}  spec: {base}/v1/openapi.json  reference: {base}/v1/docs  OGC: {base}/ogc/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from ..entitlements import load_vendors
    from ..errors import UserError
    from .keys import ANALYST, KeyStore, keys_file

    if args.vendor != ANALYST and args.vendor not in load_vendors(_vendors(args)):
        raise UserError(
            f"unknown vendor {args.vendor!r}: add it to {_vendors(args)} first, or use --vendor {ANALYST} for full access"
        )
    record, key = KeyStore(keys_file(_warehouse(args))).create(args.vendor)
    print(f"key {record.id} for {record.vendor} ({record.role}); it is shown once, store it now:")
    print(key)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .keys import KeyStore, keys_file

    keys = KeyStore(keys_file(_warehouse(args))).list()
    print(
        tabulate(
            [(k.id, k.vendor, k.role, k.created_at, k.revoked_at or "") for k in keys],
            headers=("id", "vendor", "role", "created_at", "revoked_at"),
        )
    )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from .keys import KeyStore, keys_file

    record = KeyStore(keys_file(_warehouse(args))).revoke(args.id)
    print(f"revoked key {record.id} of {record.vendor} at {record.revoked_at}")
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .access_log import access_log_file, tail

    entries = tail(access_log_file(_warehouse(args)), args.last)
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


def register(sub: argparse._SubParsersAction, warehouse_option: Callable[[argparse.ArgumentParser], None]) -> None:
    snapshots = sub.add_parser("snapshots", help="published read-only snapshots of the warehouse (what readers and the API use)")
    warehouse_option(snapshots)
    snapshots.set_defaults(func=cmd_snapshots)

    def vendors_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--vendors", type=Path, default=None, help="vendor entitlements file (default: vendors.yml)")

    serve = sub.add_parser("serve", help="the vendor API (HTTP) on the newest published snapshot")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--rate", type=float, default=50.0, help="requests per second per key (sustained)")
    serve.add_argument("--burst", type=int, default=100, help="requests per key in a burst")
    warehouse_option(serve)
    vendors_option(serve)
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="API keys of the vendor API (stored as salted hashes next to the warehouse)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="a new key for a vendor (or 'analyst'); printed once, as the last line")
    create.add_argument("--vendor", required=True, help="a vendor of vendors.yml, or 'analyst' to see every municipality")
    warehouse_option(create)
    vendors_option(create)
    create.set_defaults(func=cmd_keys_create)
    listing = keys_sub.add_parser("list", help="keys with vendor, creation and revocation time (never the key)")
    warehouse_option(listing)
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id; it is refused from the next request on")
    revoke.add_argument("id")
    warehouse_option(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)

    access = sub.add_parser("access-log", help="the vendor API's access log (key, endpoint, municipality, rows, status, ms)")
    access.add_argument("--last", type=int, default=50, help="how many of the latest requests (default 50)")
    warehouse_option(access)
    access.set_defaults(func=cmd_access_log)

    openapi = sub.add_parser("openapi", help="write the vendor API's OpenAPI document (default api/openapi.yaml)")
    openapi.add_argument("--out", type=Path, default=None)
    openapi.set_defaults(func=cmd_openapi)
