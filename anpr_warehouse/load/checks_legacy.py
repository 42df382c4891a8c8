"""Every check of a `cbs-anpr-legacy/0` delivery (wide, semicolon-separated, Dutch headers).

The legacy layout has no manifest: the delivery's identity comes from its file
names and its content checksum. RD New coordinates are converted to WGS84 here,
with pyproj, because DuckDB's spatial extension is not available offline.
"""

from __future__ import annotations


import duckdb
import pyarrow as pa
from pyproj import Transformer

from .. import contract as c
from ..reference import municipality
from .delivery import CheckedDelivery, DeliveryMeta
from .parsing import ParsedTable, check_pattern, check_position, decode, parse_csv, report_rows
from .problems import Collector
from .reader import RawDelivery

RD_X, RD_Y = (-7000, 300000), (289000, 629000)
HEADERS = {
    "locaties": c.LEGACY_LOCATIONS_HEADER,
    "passages_per_uur": c.LEGACY_HOURLY_HEADER,
    "brandstof": c.LEGACY_FUEL_HEADER,
}


def is_legacy(raw: RawDelivery) -> bool:
    return any(c.LEGACY_FILE_RE.match(name) for name in raw.files)


def _identity(raw: RawDelivery, problems: Collector) -> tuple[str, int, int] | None:
    found: dict[str, str] = {}
    keys = set()
    for name in sorted(raw.files):
        match = c.LEGACY_FILE_RE.match(name)
        if not match:
            problems.add(name, "extra-file", "file is not part of the legacy layout (GMxxxx_YYYY-MM_<kind>.csv)")
            continue
        keys.add((match.group(1), match.group(2), match.group(3)))
        found[match.group(4)] = name
    if len(keys) > 1:
        problems.add(sorted(raw.files)[0], "layout", "files belong to different municipalities or months: " + ", ".join(sorted(raw.files)))
        return None
    if not keys:
        return None
    gm, year, month = keys.pop()
    if not 1 <= int(month) <= 12:
        problems.add(found[next(iter(found))], "period", f"month {month} does not exist")
        return None
    for kind in c.LEGACY_KINDS:
        if kind not in found:
            problems.add(c.legacy_file_name(gm, int(year), int(month), kind), "missing-file", "required file is not in the delivery")
    return gm, int(year), int(month)


def check_legacy(raw: RawDelivery, con: duckdb.DuckDBPyConnection, problems: Collector) -> CheckedDelivery | None:
    identity = _identity(raw, problems)
    if identity is None or problems:
        return None
    gm, year, month = identity
    parsed: dict[str, ParsedTable] = {}
    for kind, header in HEADERS.items():
        name = c.legacy_file_name(gm, year, month, kind)
        text = decode(name, raw.files[name], problems)
        table = parse_csv(name, text, ";", header, problems) if text is not None else None
        if table is not None:
            parsed[kind] = table
            con.register(f"l_{kind}", table.to_arrow())
    if len(parsed) != len(HEADERS):
        return None
    meta = DeliveryMeta(
        delivery_id="",  # set from the content checksum by the caller
        contract=c.CONTRACT_LEGACY,
        municipality_code=gm,
        municipality_name=municipality(gm).name,
        year=year,
        month=month,
        version=1,
        supersedes=None,
        produced_at=None,
        min_cell=None,
        rounding_base=None,
    )
    names = {kind: c.legacy_file_name(gm, year, month, kind) for kind in HEADERS}
    _check_locations(con, gm, names["locaties"], problems)
    start, end = meta.period_start, meta.period_end
    for kind, word_column, words in (
        ("passages_per_uur", None, None),
        ("brandstof", "Voertuigcategorie", list(c.LEGACY_CATEGORY_WORDS)),
    ):
        _check_counts(con, kind, names[kind], start, end, word_column, words, problems)
    report_rows(
        con, problems, names["passages_per_uur"], "hour",
        "select _line, Uur from l_passages_per_uur where not regexp_full_match(Uur, '[0-9]|1[0-9]|2[0-3]')",
        "Uur {0!r} is not an hour 0..23",
    )
    if problems:
        return None
    tables = {names[k]: t for k, t in parsed.items()}
    checked = CheckedDelivery(meta, "legacy", tables)
    checked.extra_columns[names["locaties"]] = _wgs84(parsed["locaties"])
    return checked


def _check_locations(con, gm: str, file: str, problems: Collector) -> None:
    check_pattern(con, problems, file, "l_locaties", "Locatie", f"{gm}_L[0-9]{{3}}", "Locatie {0!r} is not " + gm + "_L + 3 digits")
    report_rows(
        con, problems, file, "duplicate-code",
        "select min(_line), Locatie from l_locaties group by Locatie having count(*) > 1",
        "Locatie {0!r} occurs more than once",
    )
    check_pattern(con, problems, file, "l_locaties", "Zone", f"{gm}_Z[0-9]{{2}}", "Zone {0!r} is not empty or " + gm + "_Z + 2 digits", optional=True)
    words = ", ".join(f"'{w}'" for w in c.LEGACY_DIRECTION_WORDS)
    report_rows(
        con, problems, file, "unknown-code",
        f"select _line, Richting from l_locaties where Richting not in ({words})",
        "Richting {0!r} is not in, uit or beide",
    )
    check_position(con, problems, file, "l_locaties", ("X_RD", "Y_RD"), (RD_X, RD_Y),
                   "({0}, {1}) is not an RD New position (EPSG:28992) in the Netherlands")


def _check_counts(con, kind, file, start, end, word_column, words, problems: Collector) -> None:
    view = f"l_{kind}"
    report_rows(
        con, problems, file, "unknown-code",
        f"select _line, Locatie from {view} where Locatie not in (select Locatie from l_locaties)",
        "Locatie {0!r} is not in the locaties file",
    )
    report_rows(
        con, problems, file, "date-range",
        f"""select _line, Datum from {view}
            where try_strptime(Datum, '%d-%m-%Y') is null
               or try_strptime(Datum, '%d-%m-%Y')::date not between '{start}' and '{end}'""",
        "Datum {0!r} is not a day (DD-MM-YYYY) of the delivery period " + f"{start}..{end}",
    )
    header = HEADERS[kind]
    value_columns = header[3:]
    for column in value_columns:
        report_rows(
            con, problems, file, "value",
            f"""select _line, "{column}" from {view}
                where "{column}" <> '{c.LEGACY_SECRET}' and not regexp_full_match("{column}", '[0-9]+')""",
            column + " {0!r} is not a whole number >= 0 or '.'",
        )
    if word_column:
        allowed = ", ".join(f"'{w}'" for w in words)
        report_rows(
            con, problems, file, "unknown-code",
            f"select _line, {word_column} from {view} where {word_column} not in ({allowed})",
            word_column + " {0!r} is not a known vehicle category",
        )
    keys = ", ".join(header[:3])
    report_rows(
        con, problems, file, "duplicate-cell",
        f"select max(_line), {keys} from {view} group by {keys} having count(*) > 1",
        "the same row occurs more than once ({0}, {1}, {2})",
    )


def _wgs84(locations: ParsedTable) -> dict[str, pa.Array]:
    to_wgs84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    xs = [float(v) for v in locations.column("X_RD")]
    ys = [float(v) for v in locations.column("Y_RD")]
    lon, lat = to_wgs84.transform(xs, ys)
    return {
        "latitude_wgs84": pa.array([round(v, 6) for v in lat], pa.float64()),
        "longitude_wgs84": pa.array([round(v, 6) for v in lon], pa.float64()),
    }
