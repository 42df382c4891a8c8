"""Benchmark: what hostile deliveries (and a normal one) cost the loader: seconds and peak RSS.

Each load runs `python -m anpr_warehouse.cli load` in its own process; its peak RSS is that
process's (os.wait4). The attacks are built by tests/python/hostile_archives.py, the same code
the tests use. Writes the "Archive limits" section of benchmarks/results.md (and only that section):

    .venv/bin/python scripts/bench_archive_limits.py
    .venv/bin/python scripts/bench_archive_limits.py --cases normal_folder normal_zip --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_md import write_section  # noqa: E402 - scripts/results_md.py

from anpr_warehouse.generate import GenerateRequest, generate_delivery  # noqa: E402
from anpr_warehouse.generate.writers import zip_folder  # noqa: E402
from tests.python.faulty import refresh_manifest  # noqa: E402
from tests.python.hostile_archives import measured_load, sparse_file, zip_bomb  # noqa: E402

HEADING = "## Archive limits"
T01 = "T01_Observations.csv"


def _copy(month: Path, work: Path, name: str) -> Path:
    target = work / name / month.name
    shutil.copytree(month, target)
    return target


def _normal_folder(month: Path, work: Path) -> Path:
    return month


def _normal_zip(month: Path, work: Path) -> Path:
    return zip_folder(_copy(month, work, "zip"))


def _zip_bomb(month: Path, work: Path) -> Path:
    return zip_bomb(_copy(month, work, "bomb"), T01, 1 << 30)


def _sparse_extra(month: Path, work: Path) -> Path:
    folder = _copy(month, work, "extra")
    sparse_file(folder / "bijlage.bin", 2 << 30)
    return folder


def _sparse_layout_file(month: Path, work: Path) -> Path:
    folder = _copy(month, work, "big")
    (folder / T01).unlink()
    sparse_file(folder / T01, 2 << 30)
    return folder


def _named_pipe(month: Path, work: Path) -> Path:
    folder = _copy(month, work, "pipe")
    (folder / T01).unlink()
    os.mkfifo(folder / T01)
    return folder


def _wide_header(month: Path, work: Path) -> Path:
    """A 600 kB code list header of 300,000 fields (manifest refreshed): refused on its header, in bounded memory."""
    folder = _copy(month, work, "wide")
    (folder / "VehicleCategories.csv").write_text("Identifier" + ",x" * 300_000 + "\n")
    refresh_manifest(folder)
    return folder


CASES: dict[str, tuple[str, Callable[[Path, Path], Path]]] = {
    "normal_folder": ("a normal month (40 locations), folder", _normal_folder),
    "normal_zip": ("the same month as a .zip", _normal_zip),
    "zip_bomb": ("zip bomb: ~1 MB zip, one 1 GiB entry of zeros", _zip_bomb),
    "sparse_extra": ("folder + 2 GiB (sparse) extra file", _sparse_extra),
    "sparse_layout_file": ("folder whose T01 is 2 GiB (sparse)", _sparse_layout_file),
    "named_pipe": ("folder whose T01 is a named pipe", _named_pipe),
    "wide_header": ("folder whose VehicleCategories.csv header has 300,000 fields (600 kB)", _wide_header),
}


def run(cases: list[str], locations: int) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="anpr-bench-archives-"))
    try:
        month = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=42, locations=locations), work / "month")
        rows = []
        for i, case in enumerate(cases):
            label, build = CASES[case]
            delivery = build(month, work)
            result = measured_load(delivery, work / f"{i}-{case}.duckdb", timeout=300)
            outcome = {0: "loaded", 2: "refused", None: "killed (hung)"}.get(result.returncode, f"exit {result.returncode}")
            rule = re.search(r"\[([a-z-]+)\]", result.stderr)
            rows.append(
                {
                    "case": case,
                    "label": label,
                    "outcome": outcome + (f" [{rule.group(1)}]" if rule and outcome == "refused" else ""),
                    "seconds": result.seconds,
                    "peak_rss_mb": round(result.peak_rss_mb),
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(rows: list[dict], notes: str) -> str:
    lines = [
        HEADING,
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}. Each load is "
        "`python -m anpr_warehouse.cli load` in its own process; peak RSS is that process's (about 115 MB of it "
        "is importing DuckDB and Arrow).",
        "",
        "Reproduce: `.venv/bin/python scripts/bench_archive_limits.py` (rewrites only this section).",
        "",
        "| delivery | outcome | seconds | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['label']} | {r['outcome']} | {r['seconds']} | {r['peak_rss_mb']} |" for r in rows]
    return "\n".join(lines + ([""] + [notes] if notes else [])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--notes", default="", help="a paragraph to print under the table (e.g. figures before a change)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results.md alone")
    args = parser.parse_args()
    section = render(run(args.cases, args.locations), args.notes)
    if not args.no_write:
        write_section(HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
