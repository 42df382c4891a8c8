"""Benchmark: the default (`audited`) year of 40 (or --locations) locations, an older source tree against this one.

Why a script of its own: the generator's speed is judged on CPU seconds as much as wall seconds (the
machine is shared, so wall seconds follow the load), and every speed-up must keep the output
byte-identical or say where it differs. Each pair runs `anpr generate --month 2025-01 --through 2025-12
--locations 40 --seed 1` with the older tree (e.g. `/work/main`, or `git archive <commit> | tar -x -C DIR`)
and then with this one, back to back, both under `nice -n 5` with this venv's Python, and compares the two
written years file by file (`--locations 5`: a sparse year, where the zone greedy gives up most). Prints a
Markdown table: wall and CPU seconds of the whole process tree, the tail (how far the wall time is above
CPU / 2, i.e. how long one of the two cores sat idle) and the load average before and after each run.
Then, unless `--phase-months` is empty, the CPU split of one month by phase for both trees
(`scripts/profile_generate_month.py --json`, run from each tree), side by side:

    .venv/bin/python scripts/bench_generate_year.py --before-src DIR [--after-src DIR] [--pairs 1] [--work DIR]
        [--locations 40] [--phase-months 3 ...]

Nothing is written inside the source trees: Python's bytecode cache goes to `WORK/pycache/<before|after>`
(`PYTHONPYCACHEPREFIX`), so `--before-src /work/main` leaves that checkout as it was.
"""

from __future__ import annotations

import argparse
import filecmp
import json
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
PROFILE = ROOT / "scripts" / "profile_generate_month.py"
ARGS = ["generate", "--municipality", "GM0344", "--month", "2025-01", "--through", "2025-12", "--seed", "1"]
CORES = 2  # the months run one process per core; the tail is measured against CPU / CORES


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def tree_env(work: Path, name: str) -> dict[str, str]:
    """The environment a tree runs in: the default protection, and bytecode cached under `work`, not in the tree."""
    env = {k: v for k, v in os.environ.items() if k != "ANPR_GENERATE_PROTECTION"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache" / name)
    return env


def check_imports_tree(source: Path, env: dict[str, str]) -> None:
    """Refuses to measure a tree whose own package would not be the one imported (e.g. the venv's editable install)."""
    found = subprocess.run(
        [PYTHON, "-c", "import anpr_warehouse; print(anpr_warehouse.__file__)"],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(source):
        sys.exit(f"bench_generate_year: from {source} Python imports {found}, not that tree's anpr_warehouse")


def run_year(source: Path, out: Path, env: dict[str, str], locations: int) -> tuple[float, float, str]:
    """(wall s, CPU s, load averages before -> after) of one year written by the tree at `source`.

    The tree's own package is imported by running from its folder (the venv's editable install would
    otherwise win over PYTHONPATH; `check_imports_tree` makes sure).
    """
    code = "import sys; from anpr_warehouse.cli import main; sys.exit(main())"
    load_before, cpu, started = _load(), _children_cpu(), time.perf_counter()
    subprocess.run(
        ["nice", "-n", "5", PYTHON, "-c", code, *ARGS, "--locations", str(locations), "--out", str(out)],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started, _children_cpu() - cpu, f"{load_before} -> {_load()}"


def phase_split(source: Path, env: dict[str, str], months: list[int], locations: int) -> tuple[dict[str, float | None], str]:
    """CPU s per phase of one month in the tree at `source` (this tree's profile script, run from there), and the load."""
    load_before = _load()
    result = subprocess.run(
        ["nice", "-n", "5", PYTHON, str(PROFILE), "--json", "--locations", str(locations), *map(str, months)],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])["phases"], f"{load_before} -> {_load()}"


def differences(a: Path, b: Path) -> list[str]:
    """The files (paths under `a`) not the same in both folders byte for byte, or in one only; [] when identical."""
    cmp = filecmp.dircmp(a, b)
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    found = sorted(cmp.left_only + cmp.right_only + cmp.funny_files + mismatch + errors)
    return found + [f"{d}/{name}" for d in sorted(cmp.common_dirs) for name in differences(a / d, b / d)]


def _which_differ(found: list[str]) -> str:
    """'yes', or the differing files' names (without their folders: a year repeats them per month) and counts."""
    if not found:
        return "yes"
    names: dict[str, int] = {}
    for path in found:
        names[Path(path).name] = names.get(Path(path).name, 0) + 1
    return "no: " + ", ".join(f"{name} x{count}" for name, count in sorted(names.items()))


def _tail(wall: float, cpu: float) -> str:
    return f"{100 * (wall / (cpu / CORES) - 1):+.1f} %"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-src", type=Path, required=True, help="an older source tree (/work/main, or a git archive)")
    parser.add_argument("--after-src", type=Path, default=ROOT, help="the newer tree (default: this one)")
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--locations", type=int, default=40, help="locations of the generated year (default 40)")
    parser.add_argument(
        "--phase-months", type=int, nargs="*", default=[3], help="months of the per-phase split (default 3; none: skip it)"
    )
    args = parser.parse_args()
    work = (args.work or Path(tempfile.mkdtemp(prefix="genyear-bench-"))).resolve()
    trees = {"before": args.before_src.resolve(), "after": args.after_src.resolve()}
    envs = {name: tree_env(work, name) for name in trees}
    for name, source in trees.items():
        check_imports_tree(source, envs[name])
    print(f"before: {trees['before']}; after: {trees['after']}; {args.locations} locations; {os.cpu_count()} cores")
    print()
    print(
        "| pair | before: wall s / CPU s | tail | load before -> after "
        "| after: wall s / CPU s | tail | load before -> after | identical |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for pair in range(1, args.pairs + 1):
        outs = {name: work / f"pair{pair}-{name}" for name in trees}
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)
        b_wall, b_cpu, b_load = run_year(trees["before"], outs["before"], envs["before"], args.locations)
        a_wall, a_cpu, a_load = run_year(trees["after"], outs["after"], envs["after"], args.locations)
        same = _which_differ(differences(outs["before"], outs["after"]))
        print(
            f"| {pair} | {b_wall:.1f} / {b_cpu:.1f} | {_tail(b_wall, b_cpu)} | {b_load} "
            f"| {a_wall:.1f} / {a_cpu:.1f} | {_tail(a_wall, a_cpu)} | {a_load} | {same} |"
        )
        sys.stdout.flush()
    print()
    print("tail: wall s / (CPU s / 2) - 1, how long a core sat idle (startup, the last month alone); 0 % is ideal.")
    if args.phase_months:
        splits = {name: phase_split(source, envs[name], args.phase_months, args.locations) for name, source in trees.items()}
        months = ", ".join(map(str, args.phase_months))
        print()
        print(f"| phase: CPU s per month ({args.locations} locations, month {months}, one process) | before | after |")
        print("|---|---|---|")
        for label in splits["before"][0] | splits["after"][0]:
            print(f"| {label} | {_seconds(splits['before'][0].get(label))} | {_seconds(splits['after'][0].get(label))} |")
        print(f"| load before -> after | {splits['before'][1]} | {splits['after'][1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
