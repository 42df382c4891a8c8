"""The corpus of faulty deliveries: each entry breaks exactly one contract rule.

A mutation edits a copy of a valid delivery; unless it is about the manifest
itself, the manifest's checksums and row counts are refreshed afterwards so the
delivery fails on the rule under test, not on a checksum.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anpr_warehouse.generate.writers import sha256_file


@dataclass(frozen=True)
class Fault:
    name: str
    base: str  # which pristine delivery to start from
    mutate: Callable[[Path], Path]  # returns the path to load (folder or zip)
    file: str  # the file the message must name
    rule: str  # the rule the message must name


def refresh_manifest(folder: Path) -> None:
    manifest = folder / "delivery.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in doc["files"]:
        path = folder / entry["name"]
        if path.exists():
            entry["sha256"] = sha256_file(path)
            entry["rows"] = max(0, len(path.read_bytes().splitlines()) - 1)
    manifest.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def edit_lines(file: str, edit: Callable[[list[str]], list[str]], refresh: bool = True) -> Callable[[Path], Path]:
    def mutate(folder: Path) -> Path:
        path = folder / file if (folder / file).exists() else next(folder.glob(f"*{file}"))
        lines = path.read_text(encoding="utf-8").split("\n")
        path.write_text("\n".join(edit(lines)), encoding="utf-8")
        if refresh and (folder / "delivery.json").exists():
            refresh_manifest(folder)
        return folder

    return mutate


def edit_manifest(edit: Callable[[dict], None]) -> Callable[[Path], Path]:
    def mutate(folder: Path) -> Path:
        manifest = folder / "delivery.json"
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        edit(doc)
        manifest.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return folder

    return mutate


def replace_field(row: int, column: int, value: str, sep: str = ",") -> Callable[[list[str]], list[str]]:
    """Sets one field of data row `row` (1 = first row after the header)."""

    def edit(lines: list[str]) -> list[str]:
        fields = lines[row].split(sep)
        fields[column] = value
        lines[row] = sep.join(fields)
        return lines

    return edit


def first_row_where(
    predicate: Callable[[list[str]], bool], column: int, value: str, sep: str = ","
) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        for i, line in enumerate(lines[1:], start=1):
            fields = line.split(sep)
            if len(fields) > column and predicate(fields):
                fields[column] = value
                lines[i] = sep.join(fields)
                return lines
        raise AssertionError("no row matched the predicate")

    return edit


def _raw_bytes(file: str, transform: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def mutate(folder: Path) -> Path:
        path = folder / file
        path.write_bytes(transform(path.read_bytes()))
        if file != "delivery.json":
            refresh_manifest(folder)
        return folder

    return mutate


def _delete(file: str) -> Callable[[Path], Path]:
    def mutate(folder: Path) -> Path:
        next(folder.glob(f"*{file}")).unlink()
        return folder

    return mutate


def _add_file(name: str, text: str) -> Callable[[Path], Path]:
    def mutate(folder: Path) -> Path:
        (folder / name).write_text(text, encoding="utf-8")
        return folder

    return mutate


def _truncated_zip(folder: Path) -> Path:
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    data = target.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3])
    return target


def _evil_zip(folder: Path) -> Path:
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
        archive.writestr("../../evil.csv", "Identifier,Title,Description\n")
    return target


def _duplicate_row(lines: list[str]) -> list[str]:
    fields = lines[1].split(",")
    fields[0] = str(len(lines) + 100)
    return lines[:2] + [",".join(fields)] + lines[2:]


def _confidential_with_value(fields: list[str]) -> bool:
    return fields[-1] == "Confidential"


def _published(fields: list[str]) -> bool:
    return fields[-1] == "None"


CORE_FAULTS = [
    Fault("manifest not json", "v1", _raw_bytes("delivery.json", lambda b: b"{not json"), "delivery.json", "manifest"),
    Fault("wrong contract", "v1", edit_manifest(lambda d: d.update(contract="cbs-anpr-delivery/2")), "delivery.json", "manifest"),
    Fault("bad period code", "v1", edit_manifest(lambda d: d["period"].update(code="2025MM13")), "delivery.json", "manifest"),
    Fault(
        "delivery id mismatch",
        "v1",
        edit_manifest(lambda d: d.update(delivery_id="CBS-ANPR-GM0363-2025MM03-1")),
        "delivery.json",
        "manifest",
    ),
    Fault(
        "version 1 supersedes",
        "v1",
        edit_manifest(lambda d: d.update(supersedes="CBS-ANPR-GM0344-2025MM03-0")),
        "delivery.json",
        "manifest",
    ),
    Fault(
        "checksum mismatch",
        "v1",
        edit_lines("T05_Observations.csv", first_row_where(_published, -2, "999995"), refresh=False),
        "T05_Observations.csv",
        "checksum",
    ),
    Fault(
        "row count mismatch",
        "v1",
        edit_manifest(lambda d: [e.update(rows=e["rows"] + 1) for e in d["files"] if e["name"] == "T06_Observations.csv"]),
        "T06_Observations.csv",
        "row-count",
    ),
    Fault("missing file", "v1", _delete("Zones.csv"), "Zones.csv", "missing-file"),
    Fault("extra file", "v1", _add_file("notes.txt", "hello\n"), "notes.txt", "extra-file"),
    Fault(
        "wrong header",
        "v1",
        edit_lines("T01_Observations.csv", lambda ls: [ls[0].replace("Hour", "Uur")] + ls[1:]),
        "T01_Observations.csv",
        "header",
    ),
    Fault(
        "unknown category",
        "v1",
        edit_lines("T03_Observations.csv", replace_field(1, 3, "FIETS")),
        "T03_Observations.csv",
        "unknown-code",
    ),
    Fault(
        "unknown location",
        "v1",
        edit_lines("T01_Observations.csv", replace_field(5, 2, "GM0344_L099")),
        "T01_Observations.csv",
        "unknown-code",
    ),
    Fault(
        "date outside period",
        "v1",
        edit_lines("T01_Observations.csv", replace_field(3, 3, "2025-04-01")),
        "T01_Observations.csv",
        "date-range",
    ),
    Fault(
        "negative value",
        "v1",
        edit_lines("T02_Observations.csv", first_row_where(_published, -2, "-5")),
        "T02_Observations.csv",
        "value",
    ),
    Fault(
        "non-integer value",
        "v1",
        edit_lines("T02_Observations.csv", first_row_where(_published, -2, "12.5")),
        "T02_Observations.csv",
        "value",
    ),
    Fault(
        "value with confidential",
        "v1",
        edit_lines("T04_Observations.csv", first_row_where(_confidential_with_value, -2, "10")),
        "T04_Observations.csv",
        "value-attribute",
    ),
    Fault(
        "published without value",
        "v1",
        edit_lines("T04_Observations.csv", first_row_where(_published, -2, "")),
        "T04_Observations.csv",
        "value-attribute",
    ),
    Fault(
        "unknown value attribute",
        "v1",
        edit_lines("T05_Observations.csv", replace_field(2, -1, "Secret")),
        "T05_Observations.csv",
        "unknown-code",
    ),
    Fault("duplicate cell", "v1", edit_lines("T05_Observations.csv", _duplicate_row), "T05_Observations.csv", "duplicate-cell"),
    Fault(
        "duplicate id", "v1", edit_lines("T06_Observations.csv", replace_field(2, 0, "1")), "T06_Observations.csv", "duplicate-id"
    ),
    Fault(
        "field count",
        "v1",
        edit_lines("T05_Observations.csv", lambda ls: ls[:3] + [ls[3] + ",extra"] + ls[4:]),
        "T05_Observations.csv",
        "field-count",
    ),
    Fault(
        "measure not in table",
        "v1",
        edit_lines("T06_Observations.csv", replace_field(1, 1, "M_PASSAGES")),
        "T06_Observations.csv",
        "unknown-code",
    ),
    Fault(
        "hour 24", "v1", edit_lines("T01_Observations.csv", replace_field(4, 4, "H24")), "T01_Observations.csv", "unknown-code"
    ),
    Fault(
        "code list without total",
        "v1",
        edit_lines("FuelTypes.csv", lambda ls: [line for line in ls if not line.startswith("T001,")]),
        "FuelTypes.csv",
        "missing-code",
    ),
    Fault("bad direction", "v1", edit_lines("Locations.csv", replace_field(1, 4, "NORTH")), "Locations.csv", "unknown-code"),
    Fault(
        "coordinates outside NL",
        "v1",
        edit_lines("Locations.csv", replace_field(1, 5, "48.8566")),
        "Locations.csv",
        "coordinates",
    ),
    Fault(
        "plate in data cell",
        "v1",
        edit_lines("T01_Observations.csv", replace_field(7, 2, "XX-99-XX")),
        "T01_Observations.csv",
        "licence-plate",
    ),
    Fault(
        "undashed plate in data cell",
        "v1",
        edit_lines("T02_Observations.csv", replace_field(9, 2, "12ABC3")),
        "T02_Observations.csv",
        "licence-plate",
    ),
    Fault(
        "plate in code list",
        "v1",
        edit_lines("Locations.csv", replace_field(2, 2, "camera bij 1-ABC-23")),
        "Locations.csv",
        "licence-plate",
    ),
    Fault(
        "dashed side-code-1 plate",
        "v1",
        edit_lines("Zones.csv", replace_field(1, 2, "gezien: GM-03-44")),
        "Zones.csv",
        "licence-plate",
    ),
    Fault(
        "hashed plate",
        "v1",
        edit_lines(
            "VehicleCategories.csv", replace_field(1, 2, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        ),
        "VehicleCategories.csv",
        "hashed-identifier",
    ),
    Fault(
        "non-utf8 bytes",
        "v1",
        _raw_bytes("SbiSections.csv", lambda b: b.replace(b"Industrie", b"Industri\xe9")),
        "SbiSections.csv",
        "encoding",
    ),
    Fault("empty file", "v1", _raw_bytes("T06_Observations.csv", lambda b: b""), "T06_Observations.csv", "empty-file"),
    Fault("truncated zip", "v1", _truncated_zip, ".zip", "zip"),
    Fault("zip path outside folder", "v1", _evil_zip, "evil.csv", "zip"),
    Fault(
        "legacy date outside month",
        "legacy",
        edit_lines("passages_per_uur.csv", replace_field(2, 1, "01-04-2025", ";")),
        "passages_per_uur.csv",
        "date-range",
    ),
    Fault(
        "legacy negative value", "legacy", edit_lines("brandstof.csv", replace_field(3, 4, "-3", ";")), "brandstof.csv", "value"
    ),
    Fault("legacy missing file", "legacy", _delete("brandstof.csv"), "brandstof.csv", "missing-file"),
    Fault(
        "legacy hour 24",
        "legacy",
        edit_lines("passages_per_uur.csv", replace_field(2, 2, "24", ";")),
        "passages_per_uur.csv",
        "hour",
    ),
    Fault(
        "legacy plate in name",
        "legacy",
        edit_lines("locaties.csv", replace_field(1, 1, "Hoek 99-XX-99", ";")),
        "locaties.csv",
        "licence-plate",
    ),
    Fault(
        "legacy unknown category",
        "legacy",
        edit_lines("brandstof.csv", replace_field(1, 2, "Fiets", ";")),
        "brandstof.csv",
        "unknown-code",
    ),
    Fault(
        "legacy extra file", "legacy", _add_file("GM0344_2025-03_extra.csv", "a;b\n"), "GM0344_2025-03_extra.csv", "extra-file"
    ),
    Fault(
        "legacy RD outside NL",
        "legacy",
        edit_lines("locaties.csv", replace_field(1, 4, "900000", ";")),
        "locaties.csv",
        "coordinates",
    ),
    Fault("not a delivery", "v1", lambda folder: (_wipe(folder) / "readme.txt").parent, "", "layout"),
]


def _wipe(folder: Path) -> Path:
    for path in folder.iterdir():
        path.unlink()
    (folder / "readme.txt").write_bytes(io.BytesIO(b"nothing to see\n").read())
    return folder


# Faults of the door's later rules live in modules of their own (one per area), joined here.
from .faults_archives import ARCHIVE_FAULTS  # noqa: E402
from .faults_door import DOOR_FAULTS  # noqa: E402
from .faults_plates import PLATE_FAULTS  # noqa: E402

FAULTS = CORE_FAULTS + PLATE_FAULTS + ARCHIVE_FAULTS + DOOR_FAULTS
