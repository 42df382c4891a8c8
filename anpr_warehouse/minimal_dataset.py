"""The minimal CBS dataset, answered from the dbt graph: what each consumer needs from a delivery.

The seed report's first purpose is to decide which tables and fields the CBS dataset
must minimally contain. Every consumer is a dbt exposure, every question a saved
query, so the answer follows from lineage: walk each exposure up to the CBS source
tables and reference seeds, and list the metrics and group-bys its saved queries ask.
docs/minimal-dataset.md is this module's output; a test fails when it is out of date:

    .venv/bin/dbt parse && .venv/bin/python -m anpr_warehouse.minimal_dataset
"""

from __future__ import annotations

import re
import sys

from .dbt_manifest import PACKAGE, read_manifest
from .load.raw_schema import raw_tables
from .paths import PROJECT_ROOT
from .standard_questions import read_questions

OUTPUT = PROJECT_ROOT / "docs" / "minimal-dataset.md"
REGISTER = "cbs_deliveries"  # written by the loader from delivery.json, not a CBS table


def _upstream(manifest: dict, start: list[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(manifest["parent_map"].get(node, []))
    return seen


def _short(unique_id: str) -> str:
    return unique_id.split(".")[-1]


def _fields_read(manifest: dict) -> dict[str, set[str]]:
    """Per CBS table, the delivered fields whose name appears in the SQL (and macros) of the models reading it.

    A model that takes the table's columns by star (`columns(* ...)`, as the UNPIVOT of a legacy wide file in
    stage_legacy_cells) reads every field: there the names are deliberately written nowhere.
    """
    read: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        sources = [_short(p) for p in node["depends_on"].get("nodes", []) if p.startswith("source.")]
        if node["resource_type"] != "model" or not sources:
            continue
        sql = node["raw_code"] + "".join(manifest["macros"][m]["macro_sql"] for m in node["depends_on"].get("macros", []))
        every_field = re.search(r"\bcolumns\(\s*\*", sql, re.IGNORECASE)
        for table in sources:
            for field in raw_tables().get(table, ()):
                if every_field or re.search(rf"\b{re.escape(field)}\b", sql, re.IGNORECASE):
                    read.setdefault(table, set()).add(field)
    return read


def render(manifest: dict) -> str:
    questions = {q.name: q for q in read_questions(manifest)}
    exposures = sorted((e for e in manifest["exposures"].values() if e["package_name"] == PACKAGE), key=lambda e: e["name"])
    lines = [
        "# Minimal CBS dataset per consumer",
        "",
        "Generated from the dbt graph by `python -m anpr_warehouse.minimal_dataset` (do not edit by hand): every consumer",
        "is an exposure (`models/exposures.yml`), every standard question a saved query",
        "(`models/marts/standard_questions.yml`). A CBS table is needed by a consumer when it lies upstream of the",
        "consumer's exposure; either layout (v1 or legacy) of a table serves.",
        "",
    ]
    used_anywhere: set[str] = set()
    for exposure in exposures:
        upstream = _upstream(manifest, exposure["depends_on"]["nodes"])
        sources = sorted(_short(u) for u in upstream if u.startswith("source.") and _short(u) != REGISTER)
        used_anywhere.update(sources)
        seeds = sorted(_short(u) for u in upstream if u.startswith("seed."))
        asked = exposure["config"]["meta"].get("saved_queries") or []
        asked = sorted(questions) if asked == "all" else asked
        metrics = sorted({m for q in asked for m in questions[q].metrics})
        group_by = sorted({g for q in asked for g in questions[q].group_by})
        lines += [
            f"## {exposure['label'] or exposure['name']} (`{exposure['name']}`)",
            "",
            f"- standard questions: {', '.join(f'`{q}`' for q in asked)}",
            f"- measures (metrics): {', '.join(f'`{m}`' for m in metrics)}",
            f"- dimensions (group-by): {', '.join(f'`{g}`' for g in group_by)}",
            f"- CBS tables: {', '.join(f'`{s}`' for s in sources)}",
            f"- code lists and reference data: {', '.join(f'`{s}`' for s in seeds)}",
            "",
        ]
    unused_tables = sorted(set(raw_tables()) - used_anywhere)
    read = _fields_read(manifest)
    lines += ["## What no consumer uses", "", f"- CBS tables: {', '.join(f'`{t}`' for t in unused_tables) or 'none'}"]
    lines += ["- CBS fields no model reads (the field's name appears in no SQL reading its table):"]
    for table, fields in raw_tables().items():
        unread = [f for f in fields if f not in read.get(table, set())]
        if unread:
            lines.append(f"  - `{table}`: {', '.join(f'`{f}`' for f in unread)}")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render(read_manifest())
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(PROJECT_ROOT)} ({len(text.splitlines())} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
