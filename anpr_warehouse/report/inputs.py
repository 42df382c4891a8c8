"""Which report pages to rebuild: a fingerprint of each page's inputs, kept in the site's `report-inputs.json`.

A page is rebuilt only when what it shows can have changed: the month pages read the
municipality's month (and the months offset metrics look back to), the year view its
twelve-month window and the delivery register, the comparison every visible
municipality's month. What all pages share (code, definitions, language, the
header's deliveries and navigation) is one common fingerprint: when it changes, the
whole site is rebuilt. A kept page is checked against the checksums of its files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..fingerprint import MartHashes, Scope, code_version, definitions_version, months_back, sha256_json, shift_month
from ..metrics import MetricLayer

RECORD = "report-inputs.json"
YEAR_PAGE, COMPARE_PAGE = "trend", "compare"
YEAR_MONTHS = 12  # the year view's window (trend.WINDOW), counted back from the report's month


@dataclass
class SiteRecord:
    """What the site folder was built from: the common fingerprint, one per page, the files of each, the navigation."""

    common: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # slug -> inputs sha256
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # slug -> file (relative) -> sha256
    nav: list[dict] = field(default_factory=list)  # slug, title, intro of every page, for pages built alone

    @classmethod
    def read(cls, site: Path) -> SiteRecord:
        try:
            doc = json.loads((site / RECORD).read_text(encoding="utf-8"))
            return cls(doc["common"], doc["pages"], doc["files"], doc["nav"])
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def write(self, site: Path) -> None:
        """Writes the record, unless it is already there as it is (a run that kept every page touches no file)."""
        doc = {"common": self.common, "pages": self.pages, "files": self.files, "nav": self.nav}
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        path = site / RECORD
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")

    def intact(self, site: Path, slug: str) -> bool:
        """Every file the page was written as is still there with the same bytes."""
        files = self.files.get(slug)
        if not files:
            return False
        for name, digest in files.items():
            path = site / name
            if not path.is_file() or file_sha256(path) != digest:
                return False
        return True


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def common_fingerprint(layer: MetricLayer, context: dict) -> str:
    """What every page shows besides its own data: code, definitions, language, name, deliveries, month, docs link."""
    shared = {k: v for k, v in context.items() if k not in ("t", "nav")}
    return sha256_json(
        {
            "code": code_version(),
            "definitions": definitions_version(layer.semantic_manifest_doc, layer.dbt_manifest),
            "context": shared,
        }
    )


def page_fingerprints(
    con: duckdb.DuckDBPyConnection, layer: MetricLayer, municipality: str, month_start: str, visible: list[str], slugs: list[str]
) -> dict[str, str]:
    """slug -> SHA-256 of the rows the page is computed from (one grouped scan per marts table for all pages)."""
    back = months_back(layer.semantic_manifest_doc)
    month_first = None if back is None else shift_month(month_start, -back)
    year_first = None if back is None else shift_month(month_start, -(YEAR_MONTHS - 1) - back)
    everyone = sorted({municipality, *visible})
    # Two cuts instead of one: the municipality's own year (its month and year pages), and every visible
    # municipality's month window (the comparison). Hashing the other municipalities' whole year, as one cut
    # covering both would, was most of a report's time at national scale; the sums per scope are the same.
    own = MartHashes(con, [municipality], month_start, year_first)
    compared = own if everyone == [municipality] else MartHashes(con, everyone, month_start, month_first)
    register = con.execute(
        """select municipality_code, period_start::varchar, delivery_id, layout, version, sdc_min_cell, sdc_rounding_base
           from raw.cbs_deliveries where status = 'current' and municipality_code in (select unnest(?)) order by all""",
        [everyone],
    ).fetchall()
    own_month = [r for r in register if r[0] == municipality and r[1][:10] == month_start]
    scopes = {
        # the year view reads the register up to its month (where the window starts, which months are gaps)
        YEAR_PAGE: (
            Scope((municipality,), year_first, month_start),
            [r for r in register if r[0] == municipality and r[1][:10] <= month_start],
        ),
        COMPARE_PAGE: (Scope(tuple(everyone), month_first, month_start), [r for r in register if r[1][:10] == month_start]),
    }
    month_scope = (Scope((municipality,), month_first, month_start), own_month)
    return {
        slug: sha256_json(
            {
                "page": slug,
                "visible": everyone if slug == COMPARE_PAGE else None,
                "data": (compared if slug == COMPARE_PAGE else own).of(scope),
                "register": rows,
            }
        )
        for slug in slugs
        for scope, rows in [scopes.get(slug, month_scope)]
    }
