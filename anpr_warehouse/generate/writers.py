"""Writes protected observations to disk in either delivery layout.

Both layouts are written from the same protected cells, so a legacy delivery and
a v1 delivery of the same municipality, month and seed hold the same numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import duckdb
from pyproj import Transformer

from .. import contract as c
from ..reference import dutch_titles
from .traffic import MonthTraffic

CODE_LIST_SEEDS = {
    "VehicleCategories.csv": "ref_vehicle_categories.csv",
    "FuelTypes.csv": "ref_fuel_types.csv",
    "EmissionClasses.csv": "ref_emission_classes.csv",
    "OwnerTypes.csv": "ref_owner_types.csv",
    "SbiSections.csv": "ref_sbi_sections.csv",
    "OwnerRegions.csv": "ref_owner_regions.csv",
    "VisitDayClasses.csv": "ref_visit_day_classes.csv",
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple], delimiter: str = ",") -> int:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def _code_list_rows(file: str, code_list: c.CodeList, traffic: MonthTraffic) -> tuple[tuple[str, ...], list[tuple]]:
    header = c.CODE_LIST_HEADER + code_list.extra_columns
    if file == "Locations.csv":
        rows = [
            (x.identifier, x.title, "", x.zone or "", x.direction, f"{x.latitude:.6f}", f"{x.longitude:.6f}")
            for x in traffic.locations
        ]
        return header, rows
    if file == "Zones.csv":
        return header, [(z.identifier, z.title, "", z.zone_type, z.valid_from) for z in traffic.zones]
    if file == "FirstAdmissionYears.csv":
        titles = {
            code: ("1999 of eerder" if code == "FA1999" else "Onbekend" if code == "ONBK" else code[2:])
            for code in code_list.identifiers
        }
    else:
        titles = dutch_titles(CODE_LIST_SEEDS[file])
    rows = [(code, titles[code], "") for code in code_list.identifiers]
    rows.append((c.TOTAL, "Totaal", ""))
    return header, rows


def write_v1(
    con: duckdb.DuckDBPyConnection,
    traffic: MonthTraffic,
    observations: dict[str, str],
    out: Path,
    version: int,
    min_cell: int,
    rounding_base: int,
) -> Path:
    """A `cbs-anpr-delivery/1` folder: code lists, observations and a manifest with checksums.

    The observation tables are copied in their stored order, which is `Id` order: `sdc.observations`
    creates them sorted by `Id`, later passes only update values in place, and DuckDB keeps insertion
    order (`preserve_insertion_order`, its default). Sorting them again cost about 0.04 CPU s a
    40-location month; tests/python/test_generate_traffic.py checks every written file's `Id`s run 1..n.
    """
    muni, year, month = traffic.municipality, traffic.year, traffic.month
    ident = c.delivery_id(muni.code, year, month, version)
    folder = out / ident
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows: dict[str, int] = {}
    rows[c.MEASURE_CODES_FILE] = _write_csv(
        folder / c.MEASURE_CODES_FILE, c.MEASURE_CODES_HEADER, [(k,) + v for k, v in c.MEASURES.items()]
    )
    for file, code_list in c.code_lists(year).items():
        header, data = _code_list_rows(file, code_list, traffic)
        rows[file] = _write_csv(folder / file, header, data)
    for code, table in c.OBSERVATION_TABLES.items():
        con.execute(f"copy (select * from {observations[code]}) to '{folder / table.file}' (header, delimiter ',')")
        rows[table.file] = con.execute(f"select count(*) from {observations[code]}").fetchone()[0]
    last_day = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    produced = dt.datetime(last_day.year, last_day.month, last_day.day, 10, 0) + dt.timedelta(days=20 + 14 * (version - 1))
    manifest = {
        "contract": c.CONTRACT_V1,
        "delivery_id": ident,
        "municipality": {"code": muni.code, "name": muni.name},
        "period": {"code": c.period_code(year, month), "start": f"{year:04d}-{month:02d}-01", "end": last_day.isoformat()},
        "version": version,
        "supersedes": c.delivery_id(muni.code, year, month, version - 1) if version > 1 else None,
        "produced_at": produced.isoformat() + "+02:00",
        "sdc": {"min_cell": min_cell, "rounding_base": rounding_base},
        "files": [{"name": f, "sha256": sha256_file(folder / f), "rows": rows[f]} for f in c.v1_files(year)],
    }
    (folder / "delivery.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def write_legacy(con: duckdb.DuckDBPyConnection, traffic: MonthTraffic, observations: dict[str, str], out: Path) -> Path:
    """A `cbs-anpr-legacy/0` folder: three wide, semicolon-separated files with Dutch headers."""
    muni, year, month = traffic.municipality, traffic.year, traffic.month
    folder = out / f"{muni.code}_{year:04d}-{month:02d}_legacy"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    to_rd = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
    word_for = {v: k for k, v in c.LEGACY_DIRECTION_WORDS.items()}
    location_rows = []
    for x in traffic.locations:
        rd_x, rd_y = to_rd.transform(x.longitude, x.latitude)
        location_rows.append((x.identifier, x.title, x.zone or "", word_for[x.direction], f"{rd_x:.1f}", f"{rd_y:.1f}"))
    _write_csv(folder / c.legacy_file_name(muni.code, year, month, "locaties"), c.LEGACY_LOCATIONS_HEADER, location_rows, ";")

    def cell(code: str) -> str:
        return f"coalesce(max(Value) filter (where {{dim}} = '{code}')::varchar, '{c.LEGACY_SECRET}')"

    hourly_cols = ", ".join(
        cell(code).format(dim="VehicleCategory") + f' as "{word}"' for word, code in c.LEGACY_CATEGORY_WORDS.items()
    )
    hourly_path = folder / c.legacy_file_name(muni.code, year, month, "passages_per_uur")
    con.execute(
        f"""copy (
            select Location as Locatie, strftime(Date::date, '%d-%m-%Y') as Datum, substr(Hour, 2)::int as Uur, {hourly_cols}
            from {observations["T01"]} group by Location, Date, Hour order by Location, Date, Hour
        ) to '{hourly_path}' (header, delimiter ';', quote '')"""
    )
    category_word = (
        "case VehicleCategory "
        + " ".join(f"when '{code}' then '{word}'" for word, code in c.LEGACY_CATEGORY_WORDS.items())
        + " end"
    )
    fuel_cols = ", ".join(cell(code).format(dim="FuelType") + f' as "{word}"' for word, code in c.LEGACY_FUEL_WORDS.items())
    fuel_path = folder / c.legacy_file_name(muni.code, year, month, "brandstof")
    con.execute(
        f"""copy (
            select Location as Locatie, strftime(Date::date, '%d-%m-%Y') as Datum, {category_word} as Voertuigcategorie, {fuel_cols}
            from {observations["T02"]} group by Location, Date, VehicleCategory
            order by Location, Date, list_position({list(c.LEGACY_CATEGORY_WORDS.values())}, VehicleCategory)
        ) to '{fuel_path}' (header, delimiter ';', quote '')"""
    )
    return folder


def zip_folder(folder: Path) -> Path:
    """Packs a delivery folder as `<folder>.zip` (entries under the folder name) and removes the folder."""
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.name}", date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    shutil.rmtree(folder)
    return target
