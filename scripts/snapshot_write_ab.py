"""Back-to-back comparison of writing a whole snapshot: this checkout's snapshot_tables.py against an older one.

Why: the snapshot a full build publishes used to copy every mart through DuckDB; it is now a pruned copy
of the warehouse file. On the shared 2-core machine one timing says little, so this alternates the two
versions on the same built warehouse and prints wall and CPU seconds, the file size and the load average
of each run (the build phase of scripts/benchmark.py measures the new one inside `anpr build`).

    .venv/bin/python scripts/snapshot_write_ab.py WAREHOUSE --old-rev 70a7e78 --rounds 2

Each snapshot is written beside the warehouse (`ab-<n>/<warehouse name>`) and removed after its run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODULE = "anpr_warehouse/snapshot_tables.py"


def old_write_tables(rev: str):
    """`write_tables` of snapshot_tables.py at git revision `rev`, imported as a module of the package."""
    source = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="snapshot-ab-"))
    (folder / "snapshot_tables_old.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("anpr_warehouse.snapshot_tables_old", folder / "snapshot_tables_old.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module.write_tables


def timed_write(write_tables, warehouse: Path, out: Path) -> str:
    """Writes one whole snapshot to `out`; a line with wall and CPU seconds, file size and load average."""
    shutil.rmtree(out.parent, ignore_errors=True)
    out.parent.mkdir()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    write_tables(warehouse, out, None)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = f"wall {wall:.1f} s, cpu {cpu:.1f} s, file {out.stat().st_size / 2**20:.0f} MiB, load {os.getloadavg()[0]:.1f}"
    shutil.rmtree(out.parent)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a built warehouse (not in use)")
    parser.add_argument("--old-rev", required=True, help="git revision whose snapshot_tables.py is the baseline")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from anpr_warehouse.snapshot_tables import write_tables

    versions = ((f"old ({args.old_rev})", old_write_tables(args.old_rev)), ("new (this checkout)", write_tables))
    for n in range(args.rounds):
        for label, write in versions:
            line = timed_write(write, args.warehouse, args.warehouse.parent / f"ab-{n}" / args.warehouse.name)
            print(f"{label}: {line}", flush=True)


if __name__ == "__main__":
    main()
