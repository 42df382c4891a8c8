"""The StatLine-shaped OData v4 feed against a live `anpr serve` (two municipalities, one month), plus its $filter compiler.

A small client that follows StatLine's v4 URL conventions (service root per table,
`Observations`, `$filter`, server-driven paging by `@odata.nextLink`) reads the feed
the way Excel and Power BI do; its row counts and sums must equal a direct DuckDB
query on the published snapshot. (CBS's `cbsodata4` client has its base URL and
headers fixed to CBS, so it cannot send our Bearer key.)
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import duckdb
import httpx
import pytest

from anpr_warehouse.service.odata_filter import Column, FilterError, compile_filter, compile_orderby
from anpr_warehouse.snapshots import current_snapshot

from .service_support import build_warehouse, create_key, serve, write_vendors

OWN_A, OWN_B = "GM0344", "GM0363"
TABLES = ("T01", "T02", "T03", "T04", "T05", "T06")
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("odata")
    warehouse = build_warehouse(folder)
    vendors = write_vendors(folder)
    keys = {name: create_key(warehouse, vendors, name) for name in ("vendor_a", "vendor_b", "analyst")}
    with serve(warehouse, vendors, "--rate", "1000", "--burst", "100000") as base:
        yield {"warehouse": warehouse, "keys": keys, "base": base}


class StatLineClient:
    """StatLine's v4 conventions: `<root>/<table>/` is the service root, entity sets below it, pages via @odata.nextLink."""

    def __init__(self, root: str, key: str | None):
        self.root = root.rstrip("/")
        self.http = httpx.Client(headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=300)
        self.pages: list[int] = []

    def get(self, table: str, path: str, **options: str) -> httpx.Response:
        return self.http.get(f"{self.root}/{table}/{path}", params={f"${k}": v for k, v in options.items()})

    def rows(self, table: str, entity_set: str = "Observations", **options: str) -> Iterator[dict]:
        response = self.get(table, entity_set, **options)
        for _ in range(1000):  # bounded: a feed that never ends fails the test
            assert response.status_code == 200, response.text
            body = response.json()
            self.pages.append(len(body["value"]))
            yield from body["value"]
            if "@odata.nextLink" not in body:
                return
            response = self.http.get(body["@odata.nextLink"])
        raise AssertionError("more than 1000 pages")


def client(feed, who: str | None) -> StatLineClient:
    return StatLineClient(f"{feed['base']}/odata/v4/ANPR", feed["keys"][who] if who else None)


def snapshot_rows(feed, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(current_snapshot(feed["warehouse"]).database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ---- reading, filtering and paging like Excel / Power BI --------------------------------------------------------------


@pytest.mark.slow
def test_filtered_observations_equal_the_snapshot(feed):
    rows = list(client(feed, "vendor_a").rows("T01", filter=f"VehicleCategory eq 'BEST' and Municipality eq '{OWN_A}'"))
    expected = snapshot_rows(
        feed,
        """
        select count(*), sum(passages) filter (where cell_status = 'published'), count(*) filter (where cell_status = 'confidential')
        from marts.fct_passages_hourly where vehicle_category_code = 'BEST' and municipality_code = ?""",
        [OWN_A],
    )[0]
    assert expected[0] > 0 and expected[2] > 0, "the test data must hold confidential cells"
    assert len(rows) == expected[0]
    assert sum(r["Value"] for r in rows if r["Value"] is not None) == expected[1]
    assert sum(r["ValueAttribute"] == "Confidential" for r in rows) == expected[2]
    assert {(r["VehicleCategory"], r["Municipality"], r["Measure"]) for r in rows} == {("BEST", OWN_A, "M_PASSAGES")}
    assert list(rows[0]) == [
        "Id",
        "Measure",
        "Municipality",
        "Periods",
        "Location",
        "Date",
        "Hour",
        "VehicleCategory",
        "Value",
        "ValueAttribute",
    ]


@pytest.mark.slow
def test_paging_by_next_link_reads_every_row_once(feed):
    reader = client(feed, "vendor_a")
    rows = list(reader.rows("T01", select="Id,Value,ValueAttribute"))
    count, total = snapshot_rows(
        feed,
        "select count(*), sum(passages) filter (where cell_status = 'published') "
        "from marts.fct_passages_hourly where municipality_code = ?",
        [OWN_A],
    )[0]
    assert len(reader.pages) > 1 and max(reader.pages) == 10_000, reader.pages
    assert len(rows) == count and len({r["Id"] for r in rows}) == count
    assert sum(r["Value"] or 0 for r in rows) == total
    ordered = list(reader.rows("T01", select="Id,Date", orderby="Date desc"))  # with $orderby the pages follow $skip
    assert len(ordered) == count and len({r["Id"] for r in ordered}) == count
    assert [r["Date"] for r in ordered] == sorted((r["Date"] for r in ordered), reverse=True)
    mixed = reader.get("T01", "Observations", orderby="Date", skiptoken="0")
    assert mixed.status_code == 400 and "$skiptoken" in mixed.json()["detail"]


@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_suppressed_cells_are_never_a_number(feed, table):
    reader = client(feed, "analyst")
    response = reader.get(table, "Observations", filter="ValueAttribute ne 'None'", count="true", top="10000")
    body = response.json()
    assert response.status_code == 200 and all(r["Value"] is None for r in body["value"])
    shown = reader.get(table, "Observations", filter="ValueAttribute eq 'None' and Value eq null", count="true").json()
    assert shown["@odata.count"] == 0
    fact, statuses = {
        "T01": ("fct_passages_hourly", ["cell_status"]),
        "T02": ("fct_passages_by_fuel", ["cell_status"]),
        "T03": ("fct_emission_profile", ["passages_status", "vehicles_status"]),
        "T04": ("fct_sector_profile", ["passages_status", "vehicles_status"]),
        "T05": ("fct_origin_profile", ["passages_status", "vehicles_status"]),
        "T06": ("fct_visit_frequency", ["vehicles_status"]),
    }[table]
    unpublished = sum(snapshot_rows(feed, f"select count(*) from marts.{fact} where {s} <> 'published'")[0][0] for s in statuses)
    assert body["@odata.count"] == unpublished


@pytest.mark.slow
def test_top_skip_orderby_select_and_count(feed):
    reader = client(feed, "analyst")
    everything = reader.get("T05", "Observations", orderby="Value desc,Id", count="true").json()
    page = reader.get("T05", "Observations", orderby="Value desc,Id", top="5", skip="3", select="Id,Value").json()
    assert page["value"] == [{"Id": r["Id"], "Value": r["Value"]} for r in everything["value"][3:8]]
    assert page["@odata.context"].endswith("/T05/$metadata#Observations(Id,Value)")
    assert everything["@odata.count"] == len(everything["value"])
    values = [r["Value"] for r in everything["value"] if r["Value"] is not None]
    assert values == sorted(values, reverse=True)
    codes = reader.get("T01", "VehicleCategoryCodes", filter="Identifier in ('BEST','VRAC')").json()["value"]
    assert [c["Identifier"] for c in codes] == ["BEST", "VRAC"] and all(c["Title"] for c in codes)


# ---- $metadata --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_metadata_is_csdl_with_the_service_documents_sets(feed, table):
    reader = client(feed, "analyst")
    response = reader.get(table, "$metadata")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "4.0"
    schemas = root.findall(f"{EDMX}DataServices/{EDM}Schema")
    assert len(schemas) == 1
    namespace = schemas[0].get("Namespace")
    types = {t.get("Name"): t for t in schemas[0].findall(f"{EDM}EntityType")}
    for entity_type in types.values():  # every key refers to a non-nullable property with an Edm primitive type
        properties = {p.get("Name"): p for p in entity_type.findall(f"{EDM}Property")}
        keys = [k.get("Name") for k in entity_type.findall(f"{EDM}Key/{EDM}PropertyRef")]
        assert keys and all(k in properties and properties[k].get("Nullable") == "false" for k in keys)
        assert all(p.get("Type") in ("Edm.String", "Edm.Int32", "Edm.Int64") for p in properties.values())
    sets = {s.get("Name"): s.get("EntityType") for s in schemas[0].findall(f"{EDM}EntityContainer/{EDM}EntitySet")}
    assert all(t.startswith(namespace + ".") and t.split(".")[-1] in types for t in sets.values())
    service = reader.get(table, "").json()
    assert service["@odata.context"].endswith(f"/{table}/$metadata")
    assert [s["name"] for s in service["value"]] == list(sets)
    assert {"Observations", "Dimensions", "MeasureCodes", "VehicleCategoryCodes", "MunicipalityCodes"} <= set(sets)
    observation = [p.get("Name") for p in types["Observation"].findall(f"{EDM}Property")]
    first = reader.get(table, "Observations", top="1").json()["value"][0]
    assert list(first) == observation and observation[:2] == ["Id", "Measure"] and observation[-2:] == ["Value", "ValueAttribute"]
    dimensions = [d["Identifier"] for d in reader.get(table, "Dimensions").json()["value"]]
    assert sorted(dimensions) == sorted(observation[2:-2])
    for dimension in dimensions:  # every dimension has its code set, and every code in the observations is in it
        codes = {c["Identifier"] for c in reader.rows(table, f"{dimension}Codes")}
        used = {r[dimension] for r in reader.get(table, "Observations", select=dimension, top="2000").json()["value"]}
        assert used <= codes, (dimension, used - codes)


# ---- errors -----------------------------------------------------------------------------------------------------------

BAD_FILTERS = {
    "Hour eq 8": "takes a quoted string",
    "VehicleCategory eq 'BEST' and": "expected",
    "Plate eq 'X'": "unknown property 'Plate'",
    "year(Date) eq 2025": "function 'year' is not supported",
    'VehicleCategory eq "BEST"': "unexpected character",
    "Value add 3 eq 5": "unexpected 'add'",
    "VehicleCategory eq 'BEST'); drop table marts.dim_zone; --": "unexpected character",
    "Value gt VehicleCategory": "a property on one side and a literal",
}


@pytest.mark.slow
@pytest.mark.parametrize("text", BAD_FILTERS)
def test_bad_filter_is_a_400_problem_saying_why(feed, text):
    response = client(feed, "analyst").get("T01", "Observations", filter=text)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert BAD_FILTERS[text] in response.json()["detail"], response.json()["detail"]


@pytest.mark.slow
def test_quotes_in_a_literal_stay_a_literal(feed):
    reader = client(feed, "analyst")
    body = reader.get("T01", "Observations", filter="Municipality eq 'GM0344'' or ''1''=''1'", count="true").json()
    assert body["@odata.count"] == 0 and body["value"] == []
    assert snapshot_rows(feed, "select count(*) from marts.dim_zone")[0][0] > 0


# ---- keys and entitlements --------------------------------------------------------------------------------------------


def municipality_strings(feed, municipality: str) -> set[str]:
    rows = snapshot_rows(
        feed,
        """
        select location_code from marts.dim_location where municipality_code = $1
        union all select zone_code from marts.dim_zone where municipality_code = $1
        union all select $1""",
        [municipality],
    )
    return {r[0] for r in rows}


@pytest.mark.slow
def test_no_key_is_401_on_every_path(feed):
    anonymous = client(feed, None)
    for path in ("", "$metadata", "Observations", "VehicleCategoryCodes"):
        response = anonymous.get("T01", path)
        assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json", path
    assert httpx.get(f"{feed['base']}/odata/v4/ANPR/", timeout=60).status_code == 401


@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_a_vendor_never_sees_another_municipality(feed, table):
    own, other = client(feed, "vendor_a"), client(feed, "vendor_b")
    secrets = municipality_strings(feed, OWN_B)
    body = own.get(table, "Observations", count="true", top="10000").json()
    assert body["@odata.count"] > 0 and {r["Municipality"] for r in body["value"]} == {OWN_A}
    assert own.get(table, "Observations", filter=f"Municipality ne '{OWN_A}'", count="true").json()["@odata.count"] == 0
    asked = own.get(table, "Observations", filter=f"Municipality eq '{OWN_B}'", count="true")
    missing = own.get(table, "Observations", filter="Municipality eq 'GM9999'", count="true")
    assert asked.status_code == missing.status_code == 200
    assert asked.json()["value"] == missing.json()["value"] == [] and asked.json()["@odata.count"] == 0
    for entity_set in ["MunicipalityCodes", "LocationCodes" if table in ("T01", "T02") else "ZoneCodes"]:
        text = own.get(table, entity_set).text
        assert not [s for s in secrets if s in text], (entity_set, text[:500])
    everything = client(feed, "analyst").get(table, "MunicipalityCodes").json()["value"]
    assert {c["Identifier"] for c in everything} >= {OWN_A, OWN_B}
    theirs = other.get(table, "Observations", select="Municipality", top="10000").json()["value"]
    assert theirs and {r["Municipality"] for r in theirs} == {OWN_B}


@pytest.mark.slow
def test_answers_name_their_snapshot_and_are_logged(feed):
    response = client(feed, "vendor_a").get("T02", "Observations", top="3")
    snapshot = current_snapshot(feed["warehouse"]).id
    assert response.headers["x-snapshot-id"] == snapshot and response.headers["odata-version"] == "4.0"
    log = feed["warehouse"].parent / "api-access.jsonl"

    def logged() -> list[dict]:
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []

    def found(lines: list[dict]) -> bool:
        return any(
            e["endpoint"] == "/odata/v4/ANPR/T02/Observations" and e["rows"] == 3 and e["snapshot"] == snapshot for e in lines
        )

    # the server writes the line once the response is sent, so it may land a moment after the client has it
    deadline = time.monotonic() + 10
    while not found(lines := logged()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found(lines), lines[-3:]


# ---- the $filter compiler on its own (fast): real SQL on a real DuckDB table ------------------------------------------

ROWS = [
    (1, "BEST", "H08", 10, "None"),
    (2, "VRAC", "H08", None, "Confidential"),
    (3, "BEST", "H09", 30, "None"),
    (4, "TREK", "H10", 5, "None"),
    (5, "BE'ST", "H11", None, "Unknown"),
]
COLUMNS = {
    "Id": Column('"Id"', "number"),
    "VehicleCategory": Column('"VehicleCategory"', "string"),
    "Hour": Column('"Hour"', "string"),
    "Value": Column('"Value"', "number"),
    "ValueAttribute": Column('"ValueAttribute"', "string"),
}
CASES = {
    "VehicleCategory eq 'BEST'": [1, 3],
    "VehicleCategory eq 'BEST' and Hour eq 'H09'": [3],
    "VehicleCategory eq 'TREK' or Hour eq 'H08' and Value gt 5": [1, 4],
    "(VehicleCategory eq 'TREK' or Hour eq 'H08') and Value gt 5": [1],
    "not (VehicleCategory eq 'BEST')": [2, 4, 5],
    "not Value gt 5": [2, 4, 5],
    "Value eq null": [2, 5],
    "Value ne null and Value le 10": [1, 4],
    "10 lt Value": [3],
    "VehicleCategory in ('BEST', 'TREK')": [1, 3, 4],
    "startswith(Hour, 'H1') or contains(VehicleCategory, 'RA')": [2, 4, 5],
    "endswith(VehicleCategory, 'ST')": [1, 3, 5],
    "VehicleCategory eq 'BE''ST'": [5],
    "Value ge 5.5": [1, 3],
    "ValueAttribute ne 'None'": [2, 5],
}


@pytest.mark.parametrize("text", CASES)
def test_filter_compiles_to_the_right_rows(text):
    con = duckdb.connect()
    con.execute(
        'create table t ("Id" integer, "VehicleCategory" varchar, "Hour" varchar, "Value" bigint, "ValueAttribute" varchar)'
    )
    con.executemany("insert into t values (?, ?, ?, ?, ?)", ROWS)
    where, params = compile_filter(text, COLUMNS)
    assert all(str(p) not in where for p in params if isinstance(p, str)), "literals travel as parameters"
    assert [r[0] for r in con.execute(f'select "Id" from t where {where} order by 1', params).fetchall()] == CASES[text]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Value eq",
        "Value eq 1 Value",
        "(Value eq 1",
        "Value in ()",
        "Value eq 99999999999999999999",
        "'a' eq 'b'",
        "Value",
        "Hour lt null",
        "startswith('x', Hour)",
        "Id eq 1 and " * 2000,
        "(" * 100 + "Value eq 1" + ")" * 100,
    ],
)
def test_filter_refuses_what_it_cannot_express(text):
    with pytest.raises(FilterError):
        compile_filter(text, COLUMNS)


def test_orderby_takes_only_whitelisted_properties():
    assert compile_orderby("Value desc, Hour", COLUMNS) == ['"Value" desc nulls last', '"Hour" asc nulls first']
    for text in ("Value; drop table t", "Plate", "Value desc desc", "Value,"):
        with pytest.raises(FilterError):
            compile_orderby(text, COLUMNS)
