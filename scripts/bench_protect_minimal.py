"""Benchmark: `anpr export --protect`'s choice (`protect_minimal`) or the audit, on one delivery, timed in this process.

Prints one line: what it found (cells hidden or at risk, LPs, location-days the network check certified),
wall and CPU seconds (this process and its forked workers) and the load average. Run it twice back to back
with different code on PYTHONPATH (e.g. an exported older commit) to compare before and after:

    PYTHONPATH=/tmp/old .venv/bin/python scripts/bench_protect_minimal.py DELIVERY protect|audit [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from anpr_warehouse.audit.cells import cells_from_path
from anpr_warehouse.audit.protect import protect_minimal
from anpr_warehouse.audit.run import audit_cells


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("delivery", type=Path)
    parser.add_argument("what", choices=("protect", "audit"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    delivery = cells_from_path(args.delivery)
    wall, used = time.perf_counter(), cpu()
    if args.what == "protect":
        protection = protect_minimal(delivery, True, args.jobs, final_audit=False)
        stats = protection.stats
        found = (
            f"hidden {len(protection.suppressed)} unresolved {protection.unresolved} lps {stats.lps} "
            f"certified {getattr(stats, 'certified_groups', '-')} slowest group {stats.slowest[0]:.1f} s"
        )
    else:
        result = audit_cells(delivery, True, args.jobs)
        found = f"at risk {len(result.at_risk)} exact {result.exact} lps {result.lps}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.what}: {found}; wall {time.perf_counter() - wall:.1f} s, CPU {cpu() - used:.1f} s; load average {load}")


if __name__ == "__main__":
    main()
