"""Judges a delivery as one whole: layout, every contract check, and the licence-plate guard."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import duckdb

from .. import contract as c
from .checks_legacy import check_legacy, is_legacy
from .checks_v1 import MANIFEST, check_v1
from .delivery import CheckedDelivery
from .plate_guard import find_plates
from .problems import Collector, Problem
from .reader import RawDelivery, read_delivery

MANIFEST_DIGEST = re.compile(r'"sha256"\s*:\s*"([0-9a-f]{64})"')


def content_sha256(raw: RawDelivery) -> str:
    """One checksum over every file's name and bytes: equal deliveries, equal checksum."""
    digest = hashlib.sha256()
    for name in sorted(raw.files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(raw.files[name]).digest())
    return digest.hexdigest()


def scan_for_plates(raw: RawDelivery, problems: Collector) -> None:
    """Every file, every column, code lists and manifest included: a plate anywhere refuses the whole."""
    for name, data in sorted(raw.files.items()):
        text = data.decode("utf-8", errors="replace")
        allowed = set(MANIFEST_DIGEST.findall(text)) if name == MANIFEST else set()
        for hit in find_plates(text, allow_hex=allowed):
            problems.add(name, hit.kind.replace(" ", "-"), f"value {hit.text!r} looks like a {hit.kind}; no plate may enter the warehouse", hit.line)


def check_delivery(path: Path) -> tuple[CheckedDelivery | None, list[Problem]]:
    """Returns a checked delivery, or None with every problem found."""
    raw, read_problems = read_delivery(path)
    problems = Collector()
    for problem in read_problems:
        problems.add(problem.file, problem.rule, problem.message, problem.line)
    if raw.files:
        scan_for_plates(raw, problems)
    con = duckdb.connect()
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
            problems.add(path.name, "layout", f"neither {c.CONTRACT_V1} (no delivery.json) nor {c.CONTRACT_LEGACY} (no GMxxxx_YYYY-MM_*.csv files)")
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
