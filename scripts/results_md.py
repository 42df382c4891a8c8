"""benchmarks/results.md is shared by every benchmark script: each rewrites only its own `## ` section.

Why a module: a script that rewrote the file from its own heading to the end used to drop the sections
after it; one function keeps that rule in one place.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results.md"


def write_section(heading: str, section: str, path: Path = RESULTS) -> None:
    """Replaces the section that starts with `heading` (up to the next `## `), or appends it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if heading in text:
        before, _, after = text.partition(heading)
        rest = after.split("\n## ", 1)
        text = before + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
