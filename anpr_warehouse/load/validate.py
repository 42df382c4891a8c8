"""Judges a delivery as one whole: layout, every contract check, and the licence-plate guard."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path, PurePath

from .. import contract as c
from ..duckdb_settings import connect_in_memory
from .checks_legacy import check_legacy, is_legacy
from .checks_v1 import MANIFEST, check_v1
from .delivery import CheckedDelivery
from .parsing import read_plain_fields
from .plate_guard import Finding, judge, scan_json, scan_text
from .problems import Collector, Problem
from .reader import RawDelivery, read_delivery

MANIFEST_DIGEST = re.compile(r'"sha256"\s*:\s*"([0-9a-f]{64})"')


def content_sha256(raw: RawDelivery) -> str:
    """One checksum over every file's name and bytes: equal deliveries, equal checksum."""
    digest = hashlib.sha256()
    for name in sorted(raw.files):
        digest.update(name.encode() + b"\0" + raw.sha256(name))
    return digest.hexdigest()


def scan_for_plates(raw: RawDelivery, problems: Collector) -> None:
    """A plate, a digest or broken text anywhere the loader reads refuses the whole delivery.

    Every field of every file (code lists and headers included), the decoded strings of the
    manifest, every file name, the names and comment the reader saw (`source_texts`) and the
    delivery's own name, which the register keeps. A plain CSV file is split into fields by Arrow
    here, once: the guard judges its distinct fields, and the parser later takes the same table.
    """
    for name, data in sorted(raw.files.items()):
        try:
            text, utf8 = data.decode("utf-8"), True
        except UnicodeDecodeError:  # the guard reads what it can; the encoding rule refuses the file
            text, utf8 = data.decode("utf-8", errors="replace"), False
        text = text.removeprefix("\ufeff")
        if name == MANIFEST:
            _report(problems, name, _manifest_findings(text))
        else:
            fields = read_plain_fields(text, data) if utf8 else None
            if fields is not None:
                raw.plain_fields[name] = fields
            _report(problems, name, scan_text(text, fields=fields))
    names = [(name, name) for name in raw.files] + list(raw.source_texts) + [(PurePath(raw.source).name,) * 2]
    for where, value in names:
        _report(problems, where, judge(value, text_rule=False, label="name"))


def _manifest_findings(text: str) -> list[Finding]:
    """The decoded strings (with their JSON path), plus the raw text for what decoding hides.

    A duplicate key keeps only its last value once decoded, and a JSON that does not parse has
    no decoded strings: the raw text is scanned too, and reported for a rule the decoded scan
    did not already report. The manifest's own checksums stand.
    """
    decoded = scan_json(text) or []
    raw = scan_text(text, text_rule=False, allowed=frozenset(MANIFEST_DIGEST.findall(text)))
    reported = {finding.rule for finding in decoded}
    return decoded + [finding for finding in raw if finding.rule not in reported]


def _report(problems: Collector, file: str, findings: list[Finding]) -> None:
    for finding in findings:
        problems.add(file, finding.rule, finding.message, finding.line)


def check_delivery(path: Path, threads: int | None = None) -> tuple[CheckedDelivery | None, list[Problem]]:
    """Returns a checked delivery, or None with every problem found.

    `threads` caps DuckDB's threads for the checks: a worker of a parallel load (batch.py) asks for
    one, since its siblings already use the other cores and DuckDB's threads on a month's few hundred
    thousand rows cost more in coordination than they gain (measured: 1.19 -> 1.03 CPU s a month).
    """
    raw, read_problems = read_delivery(path)
    problems = Collector()
    for problem in read_problems:
        problems.add(problem.file, problem.rule, problem.message, problem.line)
    if raw.files:
        scan_for_plates(raw, problems)
    con = connect_in_memory()
    if threads is not None:
        con.execute(f"set threads = {int(threads)}")
    try:
        checked = None
        if not raw.files:
            if not read_problems:
                problems.add(path.name, "layout", "the delivery holds no files")
        elif MANIFEST in raw.files:
            checked = check_v1(raw, con, problems)
        elif is_legacy(raw):
            checked = check_legacy(raw, con, problems)
        else:
            problems.add(
                path.name,
                "layout",
                f"neither {c.CONTRACT_V1} (no delivery.json) nor {c.CONTRACT_LEGACY} (no GMxxxx_YYYY-MM_*.csv files)",
            )
    finally:
        con.close()
    if problems or checked is None:
        return None, problems.summarise()
    checked.content_sha256 = content_sha256(raw)
    checked.source = raw.source
    if checked.layout == "legacy":
        meta = checked.meta
        legacy_id = f"CBS-ANPR-LEGACY-{meta.municipality_code}-{meta.period_code}-{checked.content_sha256[:12]}"
        checked.meta = dataclasses.replace(meta, delivery_id=legacy_id)
    return checked, []
