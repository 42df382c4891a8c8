"""A tiny hand-written delivery pair (GM0344, March and April 2025) with answers worked out by hand.

Every number a metric test expects is computed in the comments below from these
literal cells, so a wrong join, filter or total shows up as a wrong number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from anpr_warehouse import contract as c
from anpr_warehouse.generate.writers import CODE_LIST_SEEDS, sha256_file
from anpr_warehouse.reference import dutch_titles

C = "Confidential"
LOCATIONS = [
    ("GM0344_L001", "Catharijnesingel (Utrecht)", "", "GM0344_Z01", "IN", "52.088000", "5.112000"),
    ("GM0344_L002", "Waterlinieweg (Utrecht)", "", "", "BOTH", "52.095000", "5.140000"),
]
ZONES = [("GM0344_Z01", "Zero-emissiezone Utrecht", "", "ZE", "2025-01-01")]

# T01 March: passages = 165 + 80 + [L002 total confidential] = 245 (1 confidential cell)
#            logistics = BEST 100 + VRAC 20 + BEST 50 + BEST 15 = 185 (+ TREK 08h, VRAC 09h, TREK 09h confidential = 3 cells)
T01_MARCH = [
    (
        "GM0344_L001",
        "2025-03-03",
        "H08",
        {"BEST": 100, "VRAC": 20, "TREK": C, "BUSS": 0, "PERS": 30, "OVER": 0, "ONBK": 10, "T001": 165},
    ),
    ("GM0344_L001", "2025-03-03", "H09", {"BEST": 50, "VRAC": C, "TREK": C, "PERS": 20, "T001": 80}),
    ("GM0344_L002", "2025-03-04", "H08", {"BEST": 15, "PERS": C, "T001": C}),
]
# T01 April: passages = 200, logistics = 120 + 25 = 145; change vs March = (200 - 245) / 245
T01_APRIL = [("GM0344_L001", "2025-04-01", "H08", {"BEST": 120, "VRAC": 25, "PERS": 55, "T001": 200})]

# T02 March (L001, 2025-03-03): zero_emission_share = (ELEK 40 + WATS conf) / 200 = 0.2, incomplete
# logistics ZE share = (BEST ELEK 20 + VRAC ELEK conf) / (BEST 110 + VRAC 20 + TREK conf) = 20 / 130, incomplete
T02_MARCH = [
    ("GM0344_L001", "2025-03-03", "T001", {"DIES": 150, "ELEK": 40, "WATS": C, "T001": 200}),
    ("GM0344_L001", "2025-03-03", "BEST", {"DIES": 90, "ELEK": 20, "T001": 110}),
    ("GM0344_L001", "2025-03-03", "VRAC", {"DIES": 15, "ELEK": C, "T001": 20}),
    ("GM0344_L001", "2025-03-03", "TREK", {"T001": C}),
]

# T03 March, zone Z01: (category, emission class, first-admission year) -> (passages, vehicles)
# zone total 500 / 120; logistics 380 + 40 = 420 passages, 95 + 10 = 105 vehicles
# ZE access now (March 2025): BEST EZ allowed 60; BEST E6 FA2020 transition 200; BEST E5 FA2013 transition 100;
#   VRAC E6 FA2018 transition (confidential); denominators BEST 380 + VRAC 40 = 420
# at the next change (BEST 2027-01-01, VRAC 2028-01-01): E5 van and the VRAC cell become not_allowed
T03_MARCH = {
    ("T001", "T001", "T001"): (500, 120),
    ("T001", "E5", "T001"): (100, 25),
    ("T001", "E6", "T001"): (260, 65),
    ("T001", "EZ", "T001"): (60, 15),
    ("BEST", "T001", "T001"): (380, 95),
    ("BEST", "E6", "FA2020"): (200, 50),
    ("BEST", "E5", "FA2013"): (100, 25),
    ("BEST", "EZ", "FA2023"): (60, 15),
    ("BEST", "E6", "T001"): (200, 50),
    ("BEST", "E5", "T001"): (100, 25),
    ("BEST", "EZ", "T001"): (60, 15),
    ("VRAC", "E6", "T001"): (C, C),
    ("BEST", "T001", "FA2020"): (200, 50),
    ("BEST", "T001", "FA2013"): (100, 25),
    ("BEST", "T001", "FA2023"): (60, 15),
    ("VRAC", "T001", "T001"): (40, 10),
    ("VRAC", "E6", "FA2018"): (C, C),
    ("VRAC", "T001", "FA2018"): (C, C),
}
T03_APRIL = {("T001", "T001", "T001"): (300, 80)}  # a second zone-month: unique vehicles must not add up to 200
# T04: sector passages F 150, G 100, H confidential
T04_MARCH = {
    ("T001", "T001", "T001"): (500, 120),
    ("T001", "T001", "F"): (150, 30),
    ("T001", "T001", "G"): (100, 20),
    ("T001", "T001", "H"): (C, C),
}
# T05: own municipality 200 / 500 = 0.4; abroad 25 / 500 = 0.05
T05_MARCH = {("T001", "T001"): (500, 120), ("T001", "GM_EIGEN"): (200, 50), ("T001", "BUITENLAND"): (25, 5)}
# T06: frequent visitors (10+ days) = (10 + 5) / 120 = 0.125
T06_MARCH = {
    ("T001", "T001"): 120,
    ("T001", "D01"): 60,
    ("T001", "D02_04"): 30,
    ("T001", "D05_09"): 15,
    ("T001", "D10_19"): 10,
    ("T001", "D20P"): 5,
}


def _cell(value) -> tuple[str, str]:
    return ("", C) if value == C else (str(value), "None")


def _write(path: Path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_tiny_delivery(out: Path, month: int) -> Path:
    year, ident = 2025, c.delivery_id("GM0344", 2025, month, 1)
    folder = out / ident
    folder.mkdir(parents=True)
    _write(folder / c.MEASURE_CODES_FILE, c.MEASURE_CODES_HEADER, [(k,) + v for k, v in c.MEASURES.items()])
    for file, code_list in c.code_lists(year).items():
        header = c.CODE_LIST_HEADER + code_list.extra_columns
        if file == "Locations.csv":
            rows = LOCATIONS
        elif file == "Zones.csv":
            rows = ZONES
        else:
            titles = dutch_titles(CODE_LIST_SEEDS[file]) if file in CODE_LIST_SEEDS else {}
            rows = [(code, titles.get(code, code), "") for code in code_list.identifiers] + [("T001", "Totaal", "")]
        _write(folder / file, header, rows)
    march = month == 3
    tables = {
        "T01": [
            (m, loc, d, h, cat) + _cell(v)
            for loc, d, h, cells in (T01_MARCH if march else T01_APRIL)
            for cat, v in cells.items()
            for m in ["M_PASSAGES"]
        ],
        "T02": [
            ("M_PASSAGES", loc, d, cat, fuel) + _cell(v)
            for loc, d, cat, cells in (T02_MARCH if march else [])
            for fuel, v in cells.items()
        ],
        "T03": _zone_rows(T03_MARCH if march else T03_APRIL),
        "T04": _zone_rows(T04_MARCH if march else {}),
        "T05": _zone_rows(T05_MARCH if march else {}),
        "T06": [("M_VEHICLES", "GM0344_Z01") + k + _cell(v) for k, v in (T06_MARCH if march else {}).items()],
    }
    rows_per_file = {}
    for code, rows in tables.items():
        table = c.OBSERVATION_TABLES[code]
        _write(folder / table.file, table.header, [(i + 1,) + r for i, r in enumerate(rows)])
        rows_per_file[table.file] = len(rows)
    last = 31 if month == 3 else 30
    manifest = {
        "contract": c.CONTRACT_V1,
        "delivery_id": ident,
        "municipality": {"code": "GM0344", "name": "Utrecht"},
        "period": {"code": f"2025MM{month:02d}", "start": f"2025-{month:02d}-01", "end": f"2025-{month:02d}-{last}"},
        "version": 1,
        "supersedes": None,
        "produced_at": "2025-05-20T10:00:00+02:00",
        "sdc": {"min_cell": 10, "rounding_base": 5},
        "files": [
            {
                "name": f,
                "sha256": sha256_file(folder / f),
                "rows": rows_per_file.get(f, len((folder / f).read_text().splitlines()) - 1),
            }
            for f in c.v1_files(year)
        ],
    }
    (folder / "delivery.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def _zone_rows(cells: dict) -> list[tuple]:
    rows = []
    for key, (passages, vehicles) in cells.items():
        rows.append(("M_PASSAGES", "GM0344_Z01") + key + _cell(passages))
        rows.append(("M_VEHICLES", "GM0344_Z01") + key + _cell(vehicles))
    return rows
