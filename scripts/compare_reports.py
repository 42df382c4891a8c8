"""Compares two report trees (`anpr report --out A` by one version of the code, `--out B` by another), file by file.

Why: a restructuring of the report's code (texts moved to files, zones chosen by flags) must not change what a
reader sees. HTML is compared by its text (tags stripped, whitespace normalised) and by its bytes, every other
file by its bytes; `report-inputs.json` is skipped (it fingerprints the code, so it differs by design).
Exit 1 when any page's text differs.

    python scripts/compare_reports.py out/report-before out/report-after
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path

SKIPPED = {"report-inputs.json"}


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(path: Path) -> str:
    """What a reader reads on the page (and a screen reader's text of each chart's table), whitespace normalised."""
    parser = _TextOnly()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def _files(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file() and path.name not in SKIPPED}


def compare(before: Path, after: Path) -> tuple[dict[str, int], list[str]]:
    """Counts of equal files and one line per difference (TEXT: a page reads differently; bytes: only the bytes)."""
    counts = {"pages with the same text": 0, "pages with the same bytes": 0, "other files with the same bytes": 0}
    differences = [f"only in {before}: {rel}" for rel in sorted(_files(before) - _files(after))]
    differences += [f"only in {after}: {rel}" for rel in sorted(_files(after) - _files(before))]
    for rel in sorted(_files(before) & _files(after)):
        old, new = before / rel, after / rel
        same_bytes = old.read_bytes() == new.read_bytes()
        if rel.suffix == ".html":
            if page_text(old) == page_text(new):
                counts["pages with the same text"] += 1
            else:
                differences.append(f"TEXT  {rel}")
            counts["pages with the same bytes"] += same_bytes
        elif same_bytes:
            counts["other files with the same bytes"] += 1
        if not same_bytes:
            differences.append(f"bytes {rel}")
    return counts, differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    counts, differences = compare(args.before, args.after)
    print(", ".join(f"{name}: {count}" for name, count in counts.items()))
    print("\n".join(differences) or "no differences")
    return 1 if any(line.startswith(("TEXT", "only in")) for line in differences) else 0


if __name__ == "__main__":
    sys.exit(main())
