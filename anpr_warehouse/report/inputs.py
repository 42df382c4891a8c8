"""Which report pages to rebuild: a fingerprint of each page's inputs, kept in the site's `report-inputs.json`.

A page is rebuilt only when what it shows can have changed. The month pages are
fingerprinted by their inputs: the municipality's marts rows of the month (and the months
offset metrics look back to) and its delivery. The year view and the comparison are
fingerprinted by what they show (a few month-grain answers, read once and reused by the
page): hashing their inputs instead meant a whole year of the municipality's rows and
every visible municipality's month, which grew the report with the size of the
warehouse. What all pages share (code, definitions, language, the header's deliveries
and navigation) is one common fingerprint: when it changes, the whole site is rebuilt.
A kept page is checked against the checksums of its files.
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
    con: duckdb.DuckDBPyConnection,
    layer: MetricLayer,
    municipality: str,
    month_start: str,
    slugs: list[str],
    shown: dict[str, dict],
) -> dict[str, str]:
    """slug -> SHA-256 of what the page is computed from.

    `shown`: slug -> what that page shows, as JSON (pages fingerprinted by their content); every other page by the
    municipality's marts rows of its month window (one grouped scan per marts table) and its delivery of the month.
    """
    back = months_back(layer.semantic_manifest_doc)
    month_first = None if back is None else shift_month(month_start, -back)
    own = MartHashes(con, [municipality], month_start, month_first)
    register = con.execute(
        """select municipality_code, period_start::varchar, delivery_id, layout, version, sdc_min_cell, sdc_rounding_base
           from raw.cbs_deliveries where status = 'current' and municipality_code = ? and period_start = ? order by all""",
        [municipality, month_start],
    ).fetchall()
    month_inputs = {"data": own.of(Scope((municipality,), month_first, month_start)), "register": register}
    return {slug: sha256_json({"page": slug, **({"shown": shown[slug]} if slug in shown else month_inputs)}) for slug in slugs}
