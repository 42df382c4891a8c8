"""The warehouse's raw layer: what was delivered, as delivered, plus the delivery register.

Raw tables keep every column as text exactly as CBS wrote it (staging casts and
decodes), one row per data row with its delivery id and line number, and every
delivery ever loaded, superseded ones included: history stays queryable and
staging picks the delivery that flows on per municipality and month (the current
one, or the last one that built ok when the current one failed `anpr build`).
"""

from __future__ import annotations

from .. import contract as c

RAW_SCHEMA = "raw"
REGISTER = "cbs_deliveries"

REGISTER_DDL = f"""
create table if not exists {{db}}.{RAW_SCHEMA}.{REGISTER} (
    delivery_id varchar primary key,
    contract varchar not null,
    layout varchar not null,
    municipality_code varchar not null,
    municipality_name varchar not null,
    period_code varchar not null,
    period_start date not null,
    period_end date not null,
    version integer not null,
    supersedes varchar,
    produced_at varchar,
    sdc_min_cell integer,
    sdc_rounding_base integer,
    content_sha256 varchar not null,
    source_path varchar not null,
    row_count bigint not null,
    loaded_at timestamp not null,
    status varchar not null,
    superseded_by varchar,
    superseded_at timestamp,
    build_status varchar,
    build_failure varchar,
    built_at timestamp
)
"""

# Columns added after the first release: warehouses created before them get them on the next load or build.
# build_status: null = not built yet, 'ok' = passed a full `anpr build`, 'failed' = a data test failed on it
# (build_failure names the tests); see anpr_warehouse/build.py.
REGISTER_ADDED_COLUMNS = (("build_status", "varchar"), ("build_failure", "varchar"), ("built_at", "timestamp"))


def upgrade_register_sql(db: str) -> list[str]:
    """Statements that give an older register the columns added since (no-ops on a current one)."""
    return [
        f"alter table {db}.{RAW_SCHEMA}.{REGISTER} add column if not exists {name} {kind}"
        for name, kind in REGISTER_ADDED_COLUMNS
    ]


def raw_table_for(layout: str, file: str) -> str:
    """The raw table a delivered file lands in."""
    if layout == "legacy":
        kind = c.LEGACY_FILE_RE.match(file).group(4)
        return f"cbs_legacy_{kind}"
    stem = file.removesuffix(".csv")
    if stem in ("Locations", "Zones", "MeasureCodes"):
        return {"Locations": "cbs_v1_locations", "Zones": "cbs_v1_zones", "MeasureCodes": "cbs_v1_measure_codes"}[stem]
    if stem.endswith("_Observations"):
        return f"cbs_v1_{stem.split('_')[0].lower()}_observations"
    return "cbs_v1_code_lists"


def raw_tables() -> dict[str, tuple[str, ...]]:
    """Every raw data table and its delivered columns (all text)."""
    lists = c.code_lists(2000)
    tables = {
        "cbs_v1_measure_codes": c.MEASURE_CODES_HEADER,
        "cbs_v1_locations": c.CODE_LIST_HEADER + lists["Locations.csv"].extra_columns,
        "cbs_v1_zones": c.CODE_LIST_HEADER + lists["Zones.csv"].extra_columns,
        "cbs_v1_code_lists": ("code_list",) + c.CODE_LIST_HEADER,
        "cbs_legacy_locaties": c.LEGACY_LOCATIONS_HEADER,
        "cbs_legacy_passages_per_uur": c.LEGACY_HOURLY_HEADER,
        "cbs_legacy_brandstof": c.LEGACY_FUEL_HEADER,
    }
    for table in c.OBSERVATION_TABLES.values():
        tables[f"cbs_v1_{table.code.lower()}_observations"] = table.header
    return tables


EXTRA_TYPED_COLUMNS = {"cbs_legacy_locaties": (("latitude_wgs84", "double"), ("longitude_wgs84", "double"))}


def create_raw_schema_sql(db: str) -> list[str]:
    statements = [f"create schema if not exists {db}.{RAW_SCHEMA}", REGISTER_DDL.format(db=db), *upgrade_register_sql(db)]
    for table, columns in raw_tables().items():
        cols = ["delivery_id varchar not null", "line_number bigint not null"]
        cols += [f'"{col}" varchar' for col in columns]
        cols += [f"{name} {kind}" for name, kind in EXTRA_TYPED_COLUMNS.get(table, ())]
        statements.append(f"create table if not exists {db}.{RAW_SCHEMA}.{table} ({', '.join(cols)})")
    return statements
