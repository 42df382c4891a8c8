"""Faulty deliveries: licence plates and hashed plates in every spelling the contract names, and broken text.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
Every plate here reached the warehouse before the guard normalised text (fullwidth, zero-width,
look-alike letters, glued to words, JSON escapes); each one is put in a field whose value is free
text, so the plate guard is what refuses it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .faulty import Fault, _raw_bytes, edit_lines, edit_manifest, replace_field

UUID = "550e8400-e29b-41d4-a716-446655440000"
BASE64_SHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
HEX_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _v1(name: str, file: str, row: int, column: int, value: str, rule: str = "licence-plate") -> Fault:
    return Fault(name, "v1", edit_lines(file, replace_field(row, column, value)), file, rule)


def _legacy(name: str, file: str, row: int, column: int, value: str, rule: str = "licence-plate") -> Fault:
    return Fault(name, "legacy", edit_lines(file, replace_field(row, column, value, ";")), file, rule)


def _renamed(new_name: str):
    """The delivery folder itself carries the plate: the register would keep its name."""

    def mutate(folder: Path) -> Path:
        return folder.rename(folder.with_name(new_name))

    return mutate


def _zip_with_entry(entry: str):
    """A zip of the delivery with one more entry, whose name holds the plate."""

    def mutate(folder: Path) -> Path:
        target = folder.with_suffix(".zip")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{folder.name}/{path.name}")
            archive.writestr(f"{folder.name}/{entry}", "Identifier,Title,Description\n")
        return target

    return mutate


def _escaped_name(escaped: bytes):
    """municipality.name spelled with JSON \\u escapes (free text: the manifest stays otherwise valid)."""
    return _raw_bytes("delivery.json", lambda b: b.replace(b'"name": "Utrecht"', b'"name": "' + escaped + b'"'))


PLATE_FAULTS = [
    # Disguised characters
    _v1("fullwidth plate", "Locations.csv", 2, 1, "ＶＢ-１２-ＣＤ"),
    _v1("zero-width space inside plate", "Zones.csv", 1, 2, "gezien VB\u200b12CD vandaag"),
    _v1("non-breaking spaces inside plate", "VehicleCategories.csv", 1, 2, "VB\u00a012\u00a0CD"),
    _v1("non-breaking hyphens inside plate", "FuelTypes.csv", 2, 2, "VB\u201112\u2011CD"),
    _v1("soft hyphen and BOM inside plate", "OwnerTypes.csv", 1, 2, "V\u00adB-12\ufeff-CD"),
    _v1("cyrillic look-alike plate", "Locations.csv", 3, 1, "Hoek ВВ-12-СD"),
    _v1("greek look-alike plate", "EmissionClasses.csv", 2, 2, "ΑΒ-12-ΚΜ"),
    # Where the plate stands
    _v1("plate glued to a word", "Locations.csv", 1, 2, "kentekenVB-12-CD"),
    _v1("undashed plate after a slash", "Zones.csv", 2, 2, "foto/VB12CD"),
    _v1("undashed plate before a plus", "OwnerTypes.csv", 2, 2, "VB12CD+"),
    _v1("plate with dots", "EmissionClasses.csv", 1, 1, "VB.12.CD"),
    _v1("plate with underscores in a data cell", "T03_Observations.csv", 4, 2, "VB_12_CD"),
    _v1("plate with spaces", "MeasureCodes.csv", 1, 4, "Passages van VB 12 CD"),
    _v1("side code 8 glued", "VisitDayClasses.csv", 1, 2, "vanaf1-ABC-23"),
    _v1("postcode without its space", "Locations.csv", 4, 1, "Postbus 3511AB"),
    Fault(
        "plate in a csv header",
        "v1",
        edit_lines("T06_Observations.csv", lambda ls: [ls[0].replace("Zone", "Zone VB12CD")] + ls[1:]),
        "T06_Observations.csv",
        "licence-plate",
    ),
    # Manifest, names, archive
    Fault("json-escaped plate in the manifest", "v1", _escaped_name(b"\\u0056\\u0042-12-CD"), "delivery.json", "licence-plate"),
    Fault(
        "plate in a manifest file name",
        "v1",
        edit_manifest(lambda d: d["files"].append({"name": "VB-12-CD.csv", "sha256": HEX_SHA256, "rows": 0})),
        "delivery.json",
        "licence-plate",
    ),
    Fault(
        "digest outside the manifest checksums", "v1", _escaped_name(HEX_SHA256.encode()), "delivery.json", "hashed-identifier"
    ),
    Fault("plate in the delivery folder name", "v1", _renamed("levering-VB-12-CD"), "levering-VB-12-CD", "licence-plate"),
    Fault("plate in a zip entry name", "v1", _zip_with_entry("kenteken_VB12CD.csv"), "kenteken_VB12CD.csv", "licence-plate"),
    # Hashed plates
    _v1("uuid as digest", "VisitDayClasses.csv", 2, 2, UUID, "hashed-identifier"),
    _v1("base64 digest", "OwnerRegions.csv", 3, 2, BASE64_SHA256, "hashed-identifier"),
    _v1(
        "fullwidth hex digest",
        "FuelTypes.csv",
        3,
        2,
        HEX_SHA256[:32].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdef"}),
        "hashed-identifier",
    ),
    # Text rule
    _v1("control character in a title", "Locations.csv", 2, 1, "Kanaal\x00weg", "text"),
    _v1("escape character in a code list", "SbiSections.csv", 2, 2, "zie \x1b[31m", "text"),
    _v1("title over 1000 characters", "Zones.csv", 1, 1, "Zero-emissiezone " + "heel lang " * 99, "text"),
    _v1("carriage return inside a line", "T04_Observations.csv", 3, 1, "M_PASSAGES\rX", "text"),
    # Legacy layout (semicolon files)
    _legacy("legacy fullwidth plate", "locaties.csv", 2, 1, "Hoek ＶＢ-１２-ＣＤ"),
    _legacy("legacy glued plate", "locaties.csv", 3, 1, "kentekenXX-99-XX"),
    _legacy("legacy undashed plate next to a slash", "locaties.csv", 1, 1, "foto/12ABC3"),
    _legacy("legacy zero-width plate in a data cell", "passages_per_uur.csv", 4, 0, "GM0344_L001 VB\u200b-12-CD"),
    _legacy("legacy uuid", "brandstof.csv", 2, 0, UUID, "hashed-identifier"),
    _legacy("legacy control character", "locaties.csv", 2, 1, "Kanaal\x07weg", "text"),
    _legacy("legacy title over 1000 characters", "locaties.csv", 1, 1, "x" * 1001, "text"),
]
