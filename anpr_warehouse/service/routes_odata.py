"""A StatLine-shaped OData v4 feed (read-only): the harmonised facts as T01..T06, for Excel's and Power BI's OData import.

CBS publishes StatLine as OData v4: per table an `Observations` set in long form
(`Id, Measure, <dimensions>, Value, ValueAttribute`), the `Dimensions` and
`MeasureCodes` sets and one `<Dimension>Codes` set per dimension. Analysts who
already read StatLine this way get the warehouse the same way, from the same
snapshots, keys and entitlements as /v1: a vendor key only ever sees the rows of
its municipalities (a filter on any other municipality finds nothing, exactly
like one that does not exist). A suppressed cell is `Value: null` with
`ValueAttribute: "Confidential"`, never a number. The feed spans municipalities
and months, so it adds the `Municipality` and `Periods` dimensions to CBS's own.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from .app import PROBLEM_CONTENT, authenticate
from .odata_filter import Column, FilterError, compile_filter, compile_orderby
from .problems import Problem, not_found
from .state import Caller, SnapshotContext

PREFIX = "/odata/v4/ANPR"
PAGE_SIZE = 10_000
TABLE_IDS = ("T01", "T02", "T03", "T04", "T05", "T06")
TableId = Literal["T01", "T02", "T03", "T04", "T05", "T06"]
STATUS_ATTRIBUTE = (
    "case {0} when 'published' then 'None' when 'confidential' then 'Confidential' "
    "when 'impossible' then 'Impossible' else 'Unknown' end"
)
MEASURES = {
    "M_PASSAGES": ("Passages", "Passages counted at the locations (T01, T02) or entering the zone (T03-T06)", "aantal", 0),
    "M_VEHICLES": (
        "Unieke voertuigen",
        "Unique vehicles within the table's own month and zone; not additive over months or zones",
        "aantal",
        0,
    ),
}
ODATA_HEADERS = {"OData-Version": "4.0"}

router = APIRouter(
    prefix=PREFIX,
    tags=["odata"],
    responses={
        400: {"description": "A query option the feed cannot express; `detail` says what is accepted", "content": PROBLEM_CONTENT}
    },
)


@dataclass(frozen=True)
class Dimension:
    """An Observations column: its CBS name, how the fact spells it, and where its code list comes from."""

    name: str
    sql: str  # expression over the fact's columns
    kind: str  # StatLine's Kind: Dimension, TimeDimension or GeoDimension
    title: str
    codes: str  # SQL with Identifier, Title, Description; `{entitled}` is replaced by the caller's municipality condition


TOTAL = "select 'T001' as Identifier, 'Totaal' as Title, 'Totaal, door CBS berekend vóór onderdrukking' as Description"


def _code_list(table: str, code: str, description: str = "title_en", order: str = "sort_order nulls last, 1") -> str:
    """A CBS code list from its dim mart, with CBS's total `T001` (the marts keep only the detail codes)."""
    return (
        f"{TOTAL} union all (select {code} as Identifier, title_nl as Title, {description} as Description "
        f"from marts.{table} order by {order})"
    )


MUNICIPALITY = Dimension(
    "Municipality",
    "municipality_code",
    "GeoDimension",
    "Gemeente",
    "select municipality_code as Identifier, municipality_name as Title, province_name as Description "
    "from marts.dim_municipality where {entitled} order by 1",
)
PERIODS = Dimension(
    "Periods",
    "period_code",
    "TimeDimension",
    "Perioden",
    "select distinct period_code as Identifier, strftime(month_start, '%Y-%m') as Title, "
    "'Maand ' || strftime(month_start, '%Y-%m') as Description from marts.dim_date "
    "where month_start in (select period_start from raw.cbs_deliveries where status = 'current' and {entitled}) order by 1",
)
LOCATION = Dimension(
    "Location",
    "location_code",
    "GeoDimension",
    "Meetlocatie",
    "select location_code as Identifier, location_name as Title, "
    "'Zone ' || coalesce(zone_code, '-') || ', richting ' || coalesce(direction_code, '-') as Description "
    "from marts.dim_location where {entitled} order by 1",
)
ZONE = Dimension(
    "Zone",
    "zone_code",
    "GeoDimension",
    "Zone",
    "select zone_code as Identifier, zone_name as Title, 'Type ' || coalesce(zone_type, '-') as Description "
    "from marts.dim_zone where {entitled} order by 1",
)
DATE = Dimension(
    "Date",
    "strftime(passage_date, '%Y-%m-%d')",
    "TimeDimension",
    "Datum",
    "select strftime(date_day, '%Y-%m-%d') as Identifier, strftime(date_day, '%Y-%m-%d') as Title, "
    "day_name_nl as Description from marts.dim_date "
    "where month_start in (select period_start from raw.cbs_deliveries where status = 'current' and {entitled}) order by 1",
)
HOUR = Dimension(
    "Hour",
    "'H' || lpad(cast(hour_of_day as varchar), 2, '0')",
    "Dimension",
    "Uur",
    "select 'H' || lpad(cast(h as varchar), 2, '0') as Identifier, lpad(cast(h as varchar), 2, '0') || ':00-' "
    "|| lpad(cast(h + 1 as varchar), 2, '0') || ':00' as Title, 'Uur van de dag (lokale tijd)' as Description "
    "from range(24) as t(h) order by 1",
)
CATEGORY = Dimension(
    "VehicleCategory",
    "vehicle_category_code",
    "Dimension",
    "Voertuigcategorie",
    _code_list("dim_vehicle_category", "vehicle_category_code", "coalesce(description_nl, title_en)"),
)
FUEL = Dimension("FuelType", "fuel_type_code", "Dimension", "Brandstof", _code_list("dim_fuel_type", "fuel_type_code"))
EMISSION = Dimension(
    "EmissionClass", "emission_class_code", "Dimension", "Emissieklasse", _code_list("dim_emission_class", "emission_class_code")
)
ADMISSION = Dimension(
    "FirstAdmissionYear",
    "first_admission_year_code",
    "Dimension",
    "Jaar eerste toelating",
    _code_list("dim_first_admission_year", "first_admission_year_code", order="1"),
)
OWNER_TYPE = Dimension(
    "OwnerType", "owner_type_code", "Dimension", "Soort eigenaar", _code_list("dim_owner_type", "owner_type_code")
)
SBI = Dimension("SbiSection", "sbi_section_code", "Dimension", "SBI-sectie", _code_list("dim_sbi_section", "sbi_section_code"))
REGION = Dimension(
    "OwnerRegion", "owner_region_code", "Dimension", "Regio eigenaar", _code_list("dim_owner_region", "owner_region_code")
)
VISITS = Dimension(
    "VisitDayClass", "visit_day_class_code", "Dimension", "Bezoekdagen", _code_list("dim_visit_day_class", "visit_day_class_code")
)


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    fact: str
    key: str  # the fact's surrogate key: with the measure it makes the observation's Id
    dimensions: tuple[Dimension, ...]
    measures: tuple[tuple[str, str, str], ...]  # (measure code, value column, status column)


PASSAGES_CELL = (("M_PASSAGES", "passages", "cell_status"),)
ZONE_MEASURES = (("M_PASSAGES", "passages", "passages_status"), ("M_VEHICLES", "vehicles", "vehicles_status"))
TABLES = {
    t.id: t
    for t in (
        Table(
            "T01",
            "Passages per uur",
            "fct_passages_hourly",
            "passage_hourly_id",
            (MUNICIPALITY, PERIODS, LOCATION, DATE, HOUR, CATEGORY),
            PASSAGES_CELL,
        ),
        Table(
            "T02",
            "Passages per brandstof",
            "fct_passages_by_fuel",
            "passage_fuel_id",
            (MUNICIPALITY, PERIODS, LOCATION, DATE, CATEGORY, FUEL),
            PASSAGES_CELL,
        ),
        Table(
            "T03",
            "Emissieprofiel",
            "fct_emission_profile",
            "emission_profile_id",
            (MUNICIPALITY, PERIODS, ZONE, CATEGORY, EMISSION, ADMISSION),
            ZONE_MEASURES,
        ),
        Table(
            "T04",
            "Sectoren",
            "fct_sector_profile",
            "sector_profile_id",
            (MUNICIPALITY, PERIODS, ZONE, CATEGORY, OWNER_TYPE, SBI),
            ZONE_MEASURES,
        ),
        Table(
            "T05",
            "Herkomst",
            "fct_origin_profile",
            "origin_profile_id",
            (MUNICIPALITY, PERIODS, ZONE, CATEGORY, REGION),
            ZONE_MEASURES,
        ),
        Table(
            "T06",
            "Bezoekfrequentie",
            "fct_visit_frequency",
            "visit_frequency_id",
            (MUNICIPALITY, PERIODS, ZONE, CATEGORY, VISITS),
            (("M_VEHICLES", "vehicles", "vehicles_status"),),
        ),
    )
}

CodeSet = Literal[
    tuple(dict.fromkeys(["Dimensions", "MeasureCodes", *(f"{d.name}Codes" for t in TABLES.values() for d in t.dimensions)]))
]  # type: ignore[valid-type]
CODE_COLUMNS = {"Identifier": "Edm.String", "Title": "Edm.String", "Description": "Edm.String"}
SETS_FIXED = {
    "Dimensions": ("Dimension", {**CODE_COLUMNS, "Kind": "Edm.String"}),
    "MeasureCodes": ("MeasureCode", {**CODE_COLUMNS, "Unit": "Edm.String", "Decimals": "Edm.Int32"}),
}


def _observation_columns(table: Table) -> dict[str, str]:
    """Observation property -> Edm type, in StatLine's order."""
    return {
        "Id": "Edm.String",
        "Measure": "Edm.String",
        **{d.name: "Edm.String" for d in table.dimensions},
        "Value": "Edm.Int64",
        "ValueAttribute": "Edm.String",
    }


def _entity_sets(table: Table) -> dict[str, tuple[str, dict[str, str]]]:
    """Entity set name -> (entity type name, property -> Edm type)."""
    return {
        "Observations": ("Observation", _observation_columns(table)),
        **SETS_FIXED,
        **{f"{d.name}Codes": ("DimensionCode", CODE_COLUMNS) for d in table.dimensions},
    }


def _observations_sql(table: Table, entitled: str) -> str:
    """The table in StatLine's long form: one row per fact row and measure; a suppressed cell has no Value.

    `entitled` (a condition on municipality_code) sits in every part, so another municipality's rows never enter the query.
    """
    parts = []
    for code, value, status in table.measures:
        dims = ", ".join(f"{d.sql} as {d.name}" for d in table.dimensions)
        parts.append(
            f"select {table.key} || '-{code}' as Id, '{code}' as Measure, {dims}, "
            f"case when {status} = 'published' then {value} end as Value, {STATUS_ATTRIBUTE.format(status)} as ValueAttribute "
            f"from marts.{table.fact} where {status} is not null and {entitled}"
        )
    return " union all ".join(parts)


def _entitled(caller: Caller) -> tuple[str, list]:
    if caller.municipalities is None:
        return "true", []
    allowed = sorted(caller.municipalities)
    return (f"municipality_code in ({', '.join('?' for _ in allowed)})", allowed) if allowed else ("false", [])


def _source(table: Table, entity_set: str, caller: Caller) -> tuple[str, list, dict[str, str]]:
    """SQL of an entity set with its parameters and columns; only the caller's municipalities are in it."""
    sets = _entity_sets(table)
    if entity_set not in sets:
        raise not_found(f"no entity set {entity_set!r} in {table.id}; sets: {', '.join(sets)}")
    columns = sets[entity_set][1]
    if entity_set == "Observations":
        condition, params = _entitled(caller)
        return _observations_sql(table, condition), params * len(table.measures), columns
    if entity_set == "Dimensions":
        rows = [(d.name, d.title, _dimension_description(d), d.kind) for d in table.dimensions]
        return _values_sql(len(rows), columns), [v for row in rows for v in row], columns
    if entity_set == "MeasureCodes":
        rows = [(code, *MEASURES[code]) for code, _, _ in table.measures]
        return _values_sql(len(rows), columns), [v for row in rows for v in row], columns
    dimension = next(d for d in table.dimensions if f"{d.name}Codes" == entity_set)
    condition, params = _entitled(caller)
    return dimension.codes.format(entitled=condition), params if "{entitled}" in dimension.codes else [], columns


def _values_sql(rows: int, columns: dict[str, str]) -> str:
    row = "(" + ", ".join("?" for _ in columns) + ")"
    return f"select * from (values {', '.join(row for _ in range(rows))}) as t({', '.join(columns)})"


def _dimension_description(d: Dimension) -> str:
    return {
        "Municipality": "Gemeente (CBS-code GMxxxx); de feed omvat alleen de gemeenten van uw sleutel",
        "Periods": "Maand van de levering (CBS-code JJJJMMmm)",
    }.get(d.name, f"{d.title} (CBS-codelijst {d.name}Codes)")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _json(body: dict) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode(),
        media_type="application/json",
        headers=ODATA_HEADERS,
    )


def _bad(detail: str) -> Problem:
    return Problem(400, "invalid-odata-query", detail)


# ---- service documents ----------------------------------------------------------------------------------------------------


@router.get(
    "/",
    summary="The tables of the OData feed",
    response_model=dict[str, Any],
    response_description="One entry per table (T01..T06) with the URL of its service root",
)
def odata_tables(request: Request) -> Response:
    base = _base(request)
    return _json(
        {
            "@odata.context": f"{base}/$metadata#Datasets",
            "value": [{"Identifier": t.id, "Title": t.title, "Url": f"{base}/{t.id}/"} for t in TABLES.values()],
        }
    )


@router.get(
    "/{table}/",
    summary="Service document of one table: its entity sets",
    response_model=dict[str, Any],
    response_description="The entity sets: Observations, Dimensions, MeasureCodes and one <Dimension>Codes per dimension",
)
def odata_service(request: Request, table: TableId = PathParam(examples=["T01"])) -> Response:
    base = f"{_base(request)}/{table}"
    return _json(
        {
            "@odata.context": f"{base}/$metadata",
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in _entity_sets(TABLES[table])],
        }
    )


@router.get(
    "/{table}/$metadata",
    summary="CSDL (EDMX 4.0) document of one table",
    response_class=Response,
    responses={
        200: {
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "description": "The entity types and sets of the table, as Excel and Power BI read them",
        }
    },
)
def odata_metadata(table: TableId = PathParam(examples=["T01"])) -> Response:
    return Response(csdl(TABLES[table]), media_type="application/xml", headers=ODATA_HEADERS)


def csdl(table: Table) -> bytes:
    """The table's CSDL XML: one entity type per kind of set, each keyed by its first property."""
    edmx = "http://docs.oasis-open.org/odata/ns/edmx"
    edm = "http://docs.oasis-open.org/odata/ns/edm"
    ET.register_namespace("edmx", edmx)
    ET.register_namespace("", edm)
    root = ET.Element(f"{{{edmx}}}Edmx", Version="4.0")
    schema = ET.SubElement(ET.SubElement(root, f"{{{edmx}}}DataServices"), f"{{{edm}}}Schema", Namespace=f"ANPR.{table.id}")
    namespace = f"ANPR.{table.id}"
    types: dict[str, dict[str, str]] = {}
    for entity_type, columns in _entity_sets(table).values():
        types.setdefault(entity_type, columns)
    for entity_type, columns in types.items():
        element = ET.SubElement(schema, f"{{{edm}}}EntityType", Name=entity_type)
        key = next(iter(columns))
        ET.SubElement(ET.SubElement(element, f"{{{edm}}}Key"), f"{{{edm}}}PropertyRef", Name=key)
        for name, edm_type in columns.items():
            ET.SubElement(element, f"{{{edm}}}Property", Name=name, Type=edm_type, Nullable="false" if name == key else "true")
    container = ET.SubElement(schema, f"{{{edm}}}EntityContainer", Name="Container")
    for name, (entity_type, _) in _entity_sets(table).items():
        ET.SubElement(container, f"{{{edm}}}EntitySet", Name=name, EntityType=f"{namespace}.{entity_type}")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ---- entity sets ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryOptions:
    """The system query options both kinds of entity set take."""

    filter: str | None
    select: str | None
    orderby: str | None
    top: int | None
    skip: int | None
    skiptoken: str | None
    count: bool | None
    format: str | None


def query_options(
    filter_: str | None = Query(
        default=None,
        alias="$filter",
        max_length=4000,
        examples=["VehicleCategory eq 'BEST' and Municipality eq 'GM0344'"],
        description="OData filter: eq ne gt ge lt le, and or not, ( ), in (...), startswith/endswith/contains",
    ),
    select: str | None = Query(default=None, alias="$select", max_length=1000, examples=["Date,Hour,Value,ValueAttribute"]),
    orderby: str | None = Query(default=None, alias="$orderby", max_length=1000, examples=["Date desc,Hour"]),
    top: int | None = Query(default=None, alias="$top", ge=0, le=100_000_000),
    skip: int | None = Query(default=None, alias="$skip", ge=0, le=100_000_000),
    skiptoken: str | None = Query(
        default=None,
        alias="$skiptoken",
        max_length=200,
        description="Opaque; from @odata.nextLink (the key of the previous page's last row)",
    ),
    count: bool | None = Query(default=None, alias="$count", description="true adds @odata.count, the number of matching rows"),
    format_: str | None = Query(default=None, alias="$format", description="Only json"),
) -> QueryOptions:
    return QueryOptions(filter_, select, orderby, top, skip, skiptoken, count, format_)


def _compile(options: QueryOptions, columns: dict[str, str]) -> tuple[str, list, list[str], list[str]]:
    """(where, parameters, order items, selected properties) from the options, over the set's properties only."""
    whitelist = {name: Column(f'"{name}"', "number" if edm.startswith("Edm.Int") else "string") for name, edm in columns.items()}
    where, params, order = "true", [], []
    try:
        if options.filter is not None:
            where, params = compile_filter(options.filter, whitelist)
    except FilterError as exc:
        raise _bad(f"$filter: {exc}") from None
    try:
        if options.orderby is not None:
            order = compile_orderby(options.orderby, whitelist)
    except FilterError as exc:
        raise _bad(str(exc)) from None
    chosen = list(columns)
    if options.select is not None and options.select.strip() not in ("", "*"):
        chosen = [name.strip() for name in options.select.split(",")]
        unknown = [name for name in chosen if name not in columns]
        if unknown or len(set(chosen)) != len(chosen):
            raise _bad(
                f"$select takes distinct property names; unknown {', '.join(unknown) or 'none (a name repeats)'}; "
                f"properties: {', '.join(columns)}"
            )
    return where, params, order, chosen


def _query_set(request: Request, table: Table, entity_set: str, caller: Caller, options: QueryOptions) -> Response:
    """One page of an entity set: the caller's rows, filtered, ordered and paged server-side; nextLink to the next page.

    Without $orderby the pages follow the key (`$skiptoken` = the last key served), so a
    page costs a scan rather than a sort of everything before it; with $orderby they
    fall back to $skip.
    """
    if options.format not in (None, "json", "application/json"):
        raise _bad("$format takes only json")
    for option in ("$expand", "$search", "$apply", "$compute"):
        if option in request.query_params:
            raise _bad(f"{option} is not supported by this feed; $filter, $select, $orderby, $top, $skip and $count are")
    if options.skiptoken is not None and options.orderby is not None:
        raise _bad("$skiptoken comes from @odata.nextLink and does not combine with $orderby; follow the nextLink as given")
    ctx: SnapshotContext = request.state.ctx
    sql, params, columns = _source(table, entity_set, caller)
    where, where_params, order, chosen = _compile(options, columns)
    key = next(iter(columns))
    selection = f"select * from ({sql}) where {where}"
    page_where, page_params = ("true", []) if options.skiptoken is None else (f'"{key}" > ?', [options.skiptoken])
    top, skip = options.top, options.skip or 0
    size = PAGE_SIZE if top is None else min(top, PAGE_SIZE)
    projection = ", ".join(f'"{name}"' for name in [*chosen, key])
    order_sql = ", ".join([*order, f'"{key}"'])
    rows = ctx.rows(
        f"select {projection} from ({selection}) where {page_where} order by {order_sql} limit {size + 1} offset {skip}",
        [*params, *where_params, *page_params],
    )
    more = len(rows) > size and (top is None or top > size)
    rows = rows[:size]
    request.state.rows = len(rows)
    base = f"{_base(request)}/{table.id}"
    context = f"{base}/$metadata#{entity_set}" + (f"({','.join(chosen)})" if chosen != list(columns) else "")
    body: dict[str, Any] = {"@odata.context": context}
    if options.count:
        body["@odata.count"] = ctx.rows(f"select count(*) from ({selection})", [*params, *where_params])[0][0]
    body["value"] = [dict(zip(chosen, row)) for row in rows]
    if more:
        query = {k: v for k, v in request.query_params.items() if k not in ("$skip", "$top", "$skiptoken")}
        if options.orderby is None:
            query["$skiptoken"] = str(rows[-1][-1])
        else:
            query["$skip"] = str(skip + size)
        if top is not None:
            query["$top"] = str(top - size)
        body["@odata.nextLink"] = f"{base}/{entity_set}?{urlencode(query)}"
    return _json(body)


@router.get(
    "/{table}/Observations",
    summary="Observations of one table (StatLine long form)",
    response_model=dict[str, Any],
    response_description="`value`: rows of Id, Measure, the dimensions, Value and ValueAttribute (Value null unless "
    "ValueAttribute is None); `@odata.nextLink` while more rows follow (pages of 10,000)",
)
def odata_observations(
    request: Request,
    table: TableId = PathParam(examples=["T01"]),
    options: QueryOptions = Depends(query_options),
    caller: Caller = Depends(authenticate),
) -> Response:
    return _query_set(request, TABLES[table], "Observations", caller, options)


@router.get(
    "/{table}/{entity_set}",
    summary="Dimensions, MeasureCodes or a <Dimension>Codes set of one table",
    response_model=dict[str, Any],
    response_description="`value`: the codes with Identifier, Title and Description",
)
def odata_codes(
    request: Request,
    table: TableId = PathParam(examples=["T01"]),
    entity_set: CodeSet = PathParam(examples=["VehicleCategoryCodes"]),
    options: QueryOptions = Depends(query_options),
    caller: Caller = Depends(authenticate),
) -> Response:
    return _query_set(request, TABLES[table], entity_set, caller, options)
