"""Every check of a `cbs-anpr-legacy/0` delivery (wide, semicolon-separated, Dutch headers).

The legacy layout has no manifest: the delivery's identity comes from its file
names and its content checksum. RD New coordinates are converted to WGS84 here,
with pyproj, because DuckDB's spatial extension is not available offline.

Decisions where the contract's settled rules meet this older layout:
- Formats are strict: `Datum` exactly `DD-MM-YYYY` (year 2000-2099, a real date),
  `Uur` exactly `0`..`23` without leading zeros (`02` is refused, not read as 2), every
  count a plain number of at most 12 ASCII digits or `.`. So the text of a row's key
  (Locatie, Datum, Uur / Voertuigcategorie) is its parsed key and the duplicate check
  on text is a duplicate check on values.
- Totals: `Totaal` is a column, so the category total of each hour and the fuel total of
  each category exist in every row; a `.` there is allowed (CBS computes the total before
  suppression and may still hide it). The fuel file must also hold the `Totaal` category
  row of each location and date (the contract's minimum for T02; rule `totals`). The
  "total not below its parts" rule needs `rounding_base`, which this layout does not
  declare, so it is not applied here.
- Daylight saving time: there is no `Impossible` marker, so on the last Sunday of March
  hour `2` (which does not exist on the local clock) may be absent or all `.`; a number
  there is refused (rule `dst`).
- The municipality in the file names must be a Dutch municipality of 2025 (the seed).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from .. import contract as c
from ..reference import is_municipality, municipality
from .delivery import CheckedDelivery, DeliveryMeta
from .parsing import ParsedTable, check_pattern, check_position, report_rows, strict_date_sql
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
        problems.add(
            sorted(raw.files)[0], "layout", "files belong to different municipalities or months: " + ", ".join(sorted(raw.files))
        )
        return None
    if not keys:
        return None
    gm, year, month = keys.pop()
    first = found[next(iter(found))]
    if not 1 <= int(month) <= 12:
        problems.add(first, "period", f"month {month} does not exist")
        return None
    if not c.YEARS[0] <= int(year) <= c.YEARS[1]:
        problems.add(first, "date-range", f"year {year} is outside {c.YEARS[0]}-{c.YEARS[1]}")
        return None
    if not is_municipality(gm):
        problems.add(first, "municipality", f"{gm} is not a Dutch municipality (2025)")
        return None
    for kind in c.LEGACY_KINDS:
        if kind not in found:
            problems.add(
                c.legacy_file_name(gm, int(year), int(month), kind), "missing-file", "required file is not in the delivery"
            )
    return gm, int(year), int(month)


def check_legacy(raw: RawDelivery, con: duckdb.DuckDBPyConnection, problems: Collector) -> CheckedDelivery | None:
    identity = _identity(raw, problems)
    if identity is None or problems:
        return None
    gm, year, month = identity
    parsed: dict[str, ParsedTable] = {}
    for kind, header in HEADERS.items():
        name = c.legacy_file_name(gm, year, month, kind)
        table = raw.parse(name, ";", header, problems)
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
        con,
        problems,
        names["passages_per_uur"],
        "hour",
        "select _line, Uur from l_passages_per_uur where not regexp_full_match(Uur, '[0-9]|1[0-9]|2[0-3]')",
        "Uur {0!r} is not an hour 0..23",
    )
    _check_spring_forward_hour(con, names["passages_per_uur"], year, month, problems)
    _check_category_total_rows(con, names["brandstof"], problems)
    if problems:
        return None
    tables = {names[k]: t for k, t in parsed.items()}
    checked = CheckedDelivery(meta, "legacy", tables)
    checked.extra_columns[names["locaties"]] = _wgs84(parsed["locaties"])
    return checked


def _check_locations(con, gm: str, file: str, problems: Collector) -> None:
    check_pattern(
        con, problems, file, "l_locaties", "Locatie", f"{gm}_L[0-9]{{3}}", "Locatie {0!r} is not " + gm + "_L + 3 digits"
    )
    report_rows(
        con,
        problems,
        file,
        "duplicate-code",
        "select min(_line), Locatie from l_locaties group by Locatie having count(*) > 1",
        "Locatie {0!r} occurs more than once",
    )
    check_pattern(
        con,
        problems,
        file,
        "l_locaties",
        "Zone",
        f"{gm}_Z[0-9]{{2}}",
        "Zone {0!r} is not empty or " + gm + "_Z + 2 digits",
        optional=True,
    )
    words = ", ".join(f"'{w}'" for w in c.LEGACY_DIRECTION_WORDS)
    report_rows(
        con,
        problems,
        file,
        "unknown-code",
        f"select _line, Richting from l_locaties where Richting not in ({words})",
        "Richting {0!r} is not in, uit or beide",
    )
    check_position(
        con,
        problems,
        file,
        "l_locaties",
        ("X_RD", "Y_RD"),
        (RD_X, RD_Y),
        "({0}, {1}) is not an RD New position (EPSG:28992) in the Netherlands",
    )


def _check_counts(con, kind, file, start, end, word_column, words, problems: Collector) -> None:
    view = f"l_{kind}"
    report_rows(
        con,
        problems,
        file,
        "unknown-code",
        f"select _line, Locatie from {view} where Locatie not in (select Locatie from l_locaties)",
        "Locatie {0!r} is not in the locaties file",
    )
    report_rows(
        con,
        problems,
        file,
        "date-range",
        f"""select _line, Datum from {view}
            where not {strict_date_sql("Datum", c.LEGACY_DATE_PATTERN, "%d-%m-%Y")}
               or try_strptime(Datum, '%d-%m-%Y')::date not between '{start}' and '{end}'""",
        "Datum {0!r} is not a day (DD-MM-YYYY) of the delivery period " + f"{start}..{end}",
    )
    header = HEADERS[kind]
    value_columns = header[3:]
    for column in value_columns:
        report_rows(
            con,
            problems,
            file,
            "value",
            f"""select _line, "{column}" from {view}
                where "{column}" <> '{c.LEGACY_SECRET}' and not regexp_full_match("{column}", '{c.VALUE_PATTERN}')""",
            column + " {0!r} is not '.' or a plain whole number >= 0 of at most " + f"{c.VALUE_MAX_DIGITS} ASCII digits",
        )
    if word_column:
        allowed = ", ".join(f"'{w}'" for w in words)
        report_rows(
            con,
            problems,
            file,
            "unknown-code",
            f"select _line, {word_column} from {view} where {word_column} not in ({allowed})",
            word_column + " {0!r} is not a known vehicle category",
        )
    keys = ", ".join(header[:3])
    report_rows(
        con,
        problems,
        file,
        "duplicate-cell",
        f"select max(_line), {keys} from {view} group by {keys} having count(*) > 1",
        "the same row occurs more than once ({0}, {1}, {2})",
    )


def _check_category_total_rows(con, file: str, problems: Collector) -> None:
    """The fuel file's minimum total: a `Totaal` category row for each location and date."""
    total_word = next(word for word, code in c.LEGACY_CATEGORY_WORDS.items() if code == c.TOTAL)
    report_rows(
        con,
        problems,
        file,
        "totals",
        f"""select min(_line), Locatie, Datum from l_brandstof group by Locatie, Datum
            having count(*) filter (where Voertuigcategorie = '{total_word}') = 0""",
        "no " + total_word + " row (all vehicle categories) for Locatie {0}, Datum {1}",
    )


def _check_spring_forward_hour(con, file: str, year: int, month: int, problems: Collector) -> None:
    """Hour 2 of the spring day does not exist on the local clock: only '.' may stand there."""
    day = c.spring_forward_day(year, month)
    if day is None:
        return
    hour = str(int(c.DST_GAP_HOUR[1:]))
    numbers = " or ".join(f""""{column}" <> '{c.LEGACY_SECRET}'""" for column in c.LEGACY_HOURLY_HEADER[3:])
    report_rows(
        con,
        problems,
        file,
        "dst",
        f"""select _line, Datum from l_passages_per_uur
            where Datum = '{day:%d-%m-%Y}' and Uur = '{hour}' and ({numbers})""",
        "{0} hour " + hour + " does not exist (clocks go from 02:00 to 03:00): the row must be absent or all '.'",
    )


def _wgs84(locations: ParsedTable) -> dict[str, pa.Array]:
    from pyproj import Transformer  # imported here: only legacy deliveries need it, and it costs every load 0.1 s

    to_wgs84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    xs = [float(v) for v in locations.column("X_RD")]
    ys = [float(v) for v in locations.column("Y_RD")]
    lon, lat = to_wgs84.transform(xs, ys)
    return {
        "latitude_wgs84": pa.array([round(v, 6) for v in lat], pa.float64()),
        "longitude_wgs84": pa.array([round(v, 6) for v in lon], pa.float64()),
    }
