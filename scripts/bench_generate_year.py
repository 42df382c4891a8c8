"""Benchmark: the default (`audited`) 40-location year, an older source tree against this one, back to back.

Why a script of its own: the generator's speed is judged on CPU seconds as much as wall seconds (the
machine is shared, so wall seconds follow the load), and every speed-up must keep the output
byte-identical. Each pair runs `anpr generate --month 2025-01 --through 2025-12 --locations 40 --seed 1`
with the older tree (e.g. `git archive <commit> | tar -x -C DIR`) and then with this one, both under
`nice -n 5` with this venv's Python, and compares the two written years file by file. Prints a Markdown
table (wall and CPU seconds of the whole process tree, load average before and after each run):

    .venv/bin/python scripts/bench_generate_year.py --before-src DIR [--after-src DIR] [--pairs 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
ARGS = ["generate", "--municipality", "GM0344", "--month", "2025-01", "--through", "2025-12", "--locations", "40", "--seed", "1"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run_year(source: Path, out: Path) -> tuple[float, float, str]:
    """(wall s, CPU s, load averages before -> after) of one year written by the tree at `source`.

    The tree's own package is imported by running from its folder (the venv's editable install would
    otherwise win over PYTHONPATH); the environment's protection override is dropped so the default holds.
    """
    env = {k: v for k, v in os.environ.items() if k != "ANPR_GENERATE_PROTECTION"}
    code = "import sys; from anpr_warehouse.cli import main; sys.exit(main())"
    load_before, cpu, started = _load(), _children_cpu(), time.perf_counter()
    subprocess.run(
        ["nice", "-n", "5", PYTHON, "-c", code, *ARGS, "--out", str(out)], cwd=source, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started, _children_cpu() - cpu, f"{load_before} -> {_load()}"


def identical(a: Path, b: Path) -> bool:
    """Same folders and files, byte for byte."""
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(identical(a / d, b / d) for d in cmp.common_dirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-src", type=Path, required=True, help="an older source tree (git archive of a commit)")
    parser.add_argument("--after-src", type=Path, default=ROOT, help="the newer tree (default: this one)")
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="genyear-bench-"))
    print("| pair | before: wall s / CPU s | load before -> after | after: wall s / CPU s | load before -> after | identical |")
    print("|---|---|---|---|---|---|")
    for pair in range(1, args.pairs + 1):
        outs = {name: work / f"pair{pair}-{name}" for name in ("before", "after")}
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)
        b_wall, b_cpu, b_load = run_year(args.before_src.resolve(), outs["before"])
        a_wall, a_cpu, a_load = run_year(args.after_src.resolve(), outs["after"])
        same = identical(outs["before"], outs["after"])
        print(
            f"| {pair} | {b_wall:.1f} / {b_cpu:.1f} | {b_load} | {a_wall:.1f} / {a_cpu:.1f} | {a_load} | {'yes' if same else 'NO'} |"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
