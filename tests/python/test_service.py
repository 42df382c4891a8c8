"""The vendor API against a live `anpr serve` on a small built warehouse (two municipalities, one month).

Covers: the committed spec equals the served one, schemathesis on every operation,
the entitlement matrix (no byte of another municipality), same answers as the
metric layer and the export package, OGC API Features read by owslib, keys,
rate limit and the access log.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml

from anpr_warehouse.metrics import MetricLayer
from anpr_warehouse.paths import PROJECT_ROOT
from anpr_warehouse.snapshots import current_snapshot
from anpr_warehouse.standard_questions import QUESTIONS

from .service_support import anpr, build_warehouse, create_key, serve, write_vendors

pytestmark = pytest.mark.slow
OWN_A, OWN_B, MISSING = "GM0344", "GM0363", "GM9999"
MONTH = "2025-03"


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("service")
    warehouse = build_warehouse(folder)
    vendors = write_vendors(folder)
    keys = {name: create_key(warehouse, vendors, name) for name in ("vendor_a", "vendor_b", "analyst")}
    keys["revoked"] = create_key(warehouse, vendors, "vendor_a")
    revoked_id = keys["revoked"].split("_")[1]
    assert anpr("keys", "revoke", revoked_id, "--warehouse", str(warehouse)).returncode == 0
    keys["malformed"] = "anpr_" + keys["vendor_a"].split("_")[1] + "_not-the-secret"
    with serve(warehouse, vendors, "--rate", "1000", "--burst", "100000") as base:
        yield {"warehouse": warehouse, "vendors": vendors, "keys": keys, "base": base, "folder": folder}


def get(setup, who: str | None, path: str, headers: dict | None = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {setup['keys'][who]}"} if who else {}
    return httpx.get(setup["base"] + path, headers={**auth, **(headers or {})}, timeout=300)


def post(setup, who: str | None, path: str, body: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {setup['keys'][who]}"} if who else {}
    return httpx.post(setup["base"] + path, headers=headers, json=body, timeout=300)


# ---- the specification -------------------------------------------------------------------------------------------------


def test_served_spec_is_the_committed_one(setup):
    served = get(setup, None, "/v1/openapi.json").json()
    committed = yaml.safe_load((PROJECT_ROOT / "api" / "openapi.yaml").read_text(encoding="utf-8"))
    assert served["openapi"].startswith("3.1")
    assert served == committed, "api/openapi.yaml is stale: regenerate it with 'anpr openapi'"


def test_reference_page_is_offline(setup):
    page = get(setup, None, "/v1/docs")
    assert page.status_code == 200 and "/v1/query" in page.text
    import re

    assert "<script" not in page.text and "<link" not in page.text
    assert not re.findall(r"""(?:src|href)=['"]?https?://""", page.text), "the reference must load nothing from the network"


def test_schemathesis_every_operation_conforms(setup):
    """The committed spec against the live service: no 5xx, status codes, content types and bodies as specified."""
    st = Path(sys.executable).parent / "st"
    proc = subprocess.run(
        [
            str(st),
            "run",
            str(PROJECT_ROOT / "api" / "openapi.yaml"),
            "--url",
            setup["base"],
            "-H",
            f"Authorization: Bearer {setup['keys']['analyst']}",
            "--max-examples",
            "3",
            "--seed",
            "1",
            "--no-shrink",
            "--workers",
            "1",
            "--request-timeout",
            "120",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
            "response_headers_conformance",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=setup["folder"],  # its .schemathesis cache stays out of the repo
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    import re

    assert "20 selected / 20 total" in proc.stdout and "Tested: 20" in proc.stdout, proc.stdout[-3000:]
    assert re.search(r"(\d+) generated, \1 passed", proc.stdout), proc.stdout[-3000:]


# ---- entitlement matrix -------------------------------------------------------------------------------------------------

BY_MUNICIPALITY = {
    "periods": ("GET", "/v1/municipalities/{m}/periods"),
    "question": ("GET", "/v1/questions/overview_month?municipality={m}"),
    "question_month": ("GET", "/v1/questions/locations?municipality={m}&month=2025-03"),
    "mart_fact": ("GET", "/v1/marts/fct_passages_hourly?municipality={m}&limit=20"),
    "mart_dim": ("GET", "/v1/marts/dim_location?municipality={m}"),
    "mart_csv": ("GET", "/v1/marts/dim_zone?municipality={m}&format=csv"),
    "package": ("GET", "/v1/packages/{m}/2025-03"),
    "query": ("POST", "/v1/query"),
    "ogc_items": ("GET", "/ogc/collections/camera-locations/items?municipality={m}"),
}
LISTINGS = [
    "/v1/municipalities",
    "/v1/marts/dim_location",
    "/v1/marts/dim_zone?format=csv",
    "/v1/marts/dim_municipality",
    "/v1/marts/fct_ze_access?limit=200",
    "/ogc/collections",
    "/ogc/collections/camera-locations/items",
    "/ogc/collections/camera-locations",
]
CALLERS = ("vendor_a", "vendor_b", "analyst", None, "revoked", "malformed")
OWN = {"vendor_a": OWN_A, "vendor_b": OWN_B}


def secrets_of(warehouse: Path, municipality: str) -> set[str]:
    """Strings that identify a municipality's data: its code and name, location ids and names, zone ids and names."""
    con = duckdb.connect(str(current_snapshot(warehouse).database), read_only=True)
    try:
        found = {municipality}
        found |= {
            r[0]
            for r in con.execute(
                "select municipality_name from marts.dim_municipality where municipality_code = ?", [municipality]
            ).fetchall()
        }
        for code, name in con.execute(
            "select location_code, location_name from marts.dim_location where municipality_code = ?", [municipality]
        ).fetchall():
            found |= {code, name}
        for code, name in con.execute(
            "select zone_code, zone_name from marts.dim_zone where municipality_code = ?", [municipality]
        ).fetchall():
            found |= {code, name}
        # public code lists every vendor gets may share a word (province Utrecht in dim_owner_region): not a leak
        public = {v for r in con.execute("select title_nl, title_en from marts.dim_owner_region").fetchall() for v in r}
        return found - public
    finally:
        con.close()


def call(setup, who, endpoint: str, municipality: str) -> httpx.Response:
    method, path = BY_MUNICIPALITY[endpoint]
    if method == "POST":
        return post(
            setup, who, path, {"metrics": ["passages"], "group_by": ["location"], "filters": {"municipality": [municipality]}}
        )
    return get(setup, who, path.format(m=municipality))


def body_text(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/zip"):
        # data files, and the manifest without its column docs: the dbt descriptions name sample codes as examples
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            entry.pop("schema", None)
        texts = [json.dumps(manifest, ensure_ascii=False)]
        texts += [
            archive.read(n).decode("utf-8")
            for n in archive.namelist()
            if n.endswith((".csv", ".json", ".geojson")) and n != "manifest.json"
        ]
        import pyarrow.parquet as pq

        texts += [
            str(pq.read_table(io.BytesIO(archive.read(n))).to_pylist()) for n in archive.namelist() if n.endswith(".parquet")
        ]
        return "\n".join(texts)
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("endpoint", sorted(BY_MUNICIPALITY))
def test_entitlement_matrix(setup, endpoint):
    others = {OWN_A: secrets_of(setup["warehouse"], OWN_B), OWN_B: secrets_of(setup["warehouse"], OWN_A)}
    for who in CALLERS:
        for municipality in (OWN_A, OWN_B, MISSING):
            response = call(setup, who, endpoint, municipality)
            if who in (None, "revoked", "malformed"):
                expected = 401
            elif municipality == MISSING:
                expected = 404
            elif who == "analyst" or OWN[who] == municipality:
                expected = 200
            else:
                expected = 404
            assert response.status_code == expected, (who, endpoint, municipality, response.text[:300])
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
                assert "Traceback" not in response.text
            if who in OWN:
                text = body_text(response).replace(municipality, "")  # a 404 may echo the code the caller sent
                leaked = [s for s in others[OWN[who]] if s and s in text]
                assert not leaked, (who, endpoint, municipality, leaked[:5])
        if who in OWN:  # another municipality is answered exactly like one that does not exist
            other = OWN_B if who == "vendor_a" else OWN_A
            a, b = call(setup, who, endpoint, other), call(setup, who, endpoint, MISSING)
            assert (a.status_code, a.text.replace(other, "X")) == (b.status_code, b.text.replace(MISSING, "X"))


@pytest.mark.parametrize("path", LISTINGS)
def test_listings_hold_only_entitled_municipalities(setup, path):
    for who, own in OWN.items():
        other = OWN_B if own == OWN_A else OWN_A
        response = get(setup, who, path)
        assert response.status_code == 200, response.text[:300]
        text = body_text(response)
        leaked = [s for s in secrets_of(setup["warehouse"], other) if s in text]
        assert not leaked, (who, path, leaked[:5])
        if path in ("/v1/municipalities", "/ogc/collections/camera-locations/items", "/v1/marts/dim_location"):
            assert own in text
    analyst = body_text(get(setup, "analyst", "/v1/municipalities"))
    assert OWN_A in analyst and OWN_B in analyst


def test_every_response_names_its_snapshot(setup):
    snapshot = current_snapshot(setup["warehouse"]).id
    for path in ("/v1/municipalities", "/v1/metrics", "/ogc/"):
        assert get(setup, "vendor_a", path).headers["x-snapshot-id"] == snapshot
    assert get(setup, "vendor_a", "/v1/municipalities/GM9999/periods").headers["x-snapshot-id"] == snapshot


# ---- errors -------------------------------------------------------------------------------------------------------------


def test_unknown_metric_names_the_closest(setup):
    response = get(setup, "vendor_a", "/v1/metrics/logistic_passages")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert "logistics_passages" in response.json()["closest"]
    response = post(setup, "vendor_a", "/v1/query", {"metrics": ["pasages"]})
    assert response.status_code == 404 and "passages" in response.json()["closest"]


def test_unique_vehicles_over_months_is_refused_with_the_reason(setup):
    response = post(setup, "analyst", "/v1/query", {"metrics": ["unique_vehicles"], "group_by": ["metric_time__month"]})
    assert response.status_code == 422
    assert "not additive" in response.json()["detail"]
    ok = post(setup, "analyst", "/v1/query", {"metrics": ["unique_vehicles"], "group_by": ["zone", "metric_time__month"]})
    assert ok.status_code == 200 and ok.json()["rows"]


def test_client_text_never_reaches_the_engine(setup):
    for body in (
        {"metrics": ["passages"], "filters": {"zone": ["x') or 1=1 --"]}},
        {"metrics": ["passages"], "filters": {"{{ env_var('HOME') }}": ["a"]}},
        {"metrics": ["passages"], "group_by": ["{{ Dimension('x') }}"]},
    ):
        response = post(setup, "analyst", "/v1/query", body)
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith(("invalid-filter", "invalid-group-by"))


# ---- same answers ---------------------------------------------------------------------------------------------------------


def test_query_equals_the_cli(setup):
    """Runs before any test opens the warehouse file in this process (the CLI needs it unlocked)."""
    proc = anpr(
        "metrics",
        "query",
        "--metrics",
        "logistics_passages",
        "zero_emission_share",
        "--group-by",
        "metric_time__month",
        "municipality",
        "--format",
        "json",
        "--warehouse",
        str(setup["warehouse"]),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    api = post(
        setup,
        "analyst",
        "/v1/query",
        {"metrics": ["logistics_passages", "zero_emission_share"], "group_by": ["metric_time__month", "municipality"]},
    )
    assert api.json()["rows"] == json.loads(proc.stdout)["rows"]


def test_questions_equal_the_export_package_and_the_metric_layer(setup):
    """Every standard question: /v1/questions equals the package's metrics/<q>.json (both with the differencing guard),
    and /v1/query for the same question equals the metric layer on the warehouse file (what `anpr metrics query` runs)."""
    package = get(setup, "analyst", f"/v1/packages/{OWN_A}/{MONTH}")
    assert package.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    manifest = archive.read("manifest.json")
    assert package.headers["etag"] == f'"{hashlib.sha256(manifest).hexdigest()}"'
    assert (
        get(setup, "analyst", f"/v1/packages/{OWN_A}/{MONTH}", headers={"If-None-Match": package.headers["etag"]}).status_code
        == 304
    )
    layer = MetricLayer(setup["warehouse"])
    where = ["{{ Entity('municipality') }} = 'GM0344'", "{{ TimeDimension('metric_time', 'month') }} = '2025-03-01'"]
    for question in QUESTIONS:
        api = get(setup, "vendor_a", f"/v1/questions/{question.name}?municipality={OWN_A}&month={MONTH}").json()
        packaged = json.loads(archive.read(f"metrics/{question.name}.json"))
        assert api["rows"] == packaged["rows"], question.name
        adhoc = post(
            setup,
            "vendor_a",
            "/v1/query",
            {
                "metrics": list(question.metrics),
                "group_by": list(question.group_by),
                "filters": {"municipality": [OWN_A]},
                "month_from": MONTH,
                "month_to": MONTH,
            },
        )
        assert adhoc.status_code == 200, adhoc.text
        direct = json.loads(layer.query(list(question.metrics), list(question.group_by), where).render("json"))
        assert adhoc.json()["rows"] == direct["rows"], question.name
        assert direct["rows"], question.name


# ---- marts ---------------------------------------------------------------------------------------------------------------


def test_mart_pages_cover_every_row_once(setup):
    rows, cursor, pages = [], None, 0
    while pages < 100:
        response = get(setup, "vendor_a", "/v1/marts/fct_passages_by_fuel?limit=4000" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        page = response.json()
        rows += page["rows"]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    con = duckdb.connect(str(current_snapshot(setup["warehouse"]).database), read_only=True)
    expected = con.execute("select count(*) from marts.fct_passages_by_fuel where municipality_code = 'GM0344'").fetchone()[0]
    con.close()
    assert pages > 1 and len(rows) == expected
    assert len({r["passage_fuel_id"] for r in rows}) == expected


def test_parquet_and_csv_stream_the_entitled_rows(setup):
    import pyarrow.parquet as pq

    parquet = get(setup, "vendor_b", "/v1/marts/fct_passages_hourly?format=parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows > 0 and set(table.column("municipality_code").to_pylist()) == {OWN_B}
    csv_text = get(setup, "vendor_b", "/v1/marts/fct_passages_hourly?format=csv").text
    assert len(csv_text.splitlines()) == table.num_rows + 1


# ---- OGC API Features ------------------------------------------------------------------------------------------------------


def test_owslib_reads_the_camera_collection(setup):
    from owslib.ogcapi.features import Features

    client = Features(setup["base"] + "/ogc/", headers={"Authorization": f"Bearer {setup['keys']['vendor_a']}"})
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in client.conformance()["conformsTo"]
    assert [c["id"] for c in client.collections()["collections"]] == ["camera-locations"]
    first = client.collection_items("camera-locations", limit=2, datetime=MONTH)
    assert first["numberReturned"] == 2 and first["numberMatched"] == 4
    assert {f["properties"]["municipality"] for f in first["features"]} == {OWN_A}
    assert set(first["features"][0]["properties"]["passages"]) == {"value", "confidential_cells", "complete"}
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = httpx.get(next_link, headers={"Authorization": f"Bearer {setup['keys']['vendor_a']}"}).json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in first["features"]})
    lon, lat = first["features"][0]["geometry"]["coordinates"]
    boxed = client.collection_items("camera-locations", bbox=[lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4])
    assert [f["id"] for f in boxed["features"]] == [first["features"][0]["id"]]


# ---- keys, rate limit, access log -----------------------------------------------------------------------------------------


def test_keys_are_stored_only_as_salted_hashes(setup):
    stored = (setup["warehouse"].parent / "api-keys.json").read_text()
    for key in setup["keys"].values():
        assert key.split("_", 2)[2] not in stored
    listing = anpr("keys", "list", "--warehouse", str(setup["warehouse"]), timeout=60).stdout
    assert "vendor_a" in listing and "analyst" in listing
    refused = anpr(
        "keys",
        "create",
        "--vendor",
        "nobody",
        "--warehouse",
        str(setup["warehouse"]),
        "--vendors",
        str(setup["vendors"]),
        timeout=60,
    )
    assert refused.returncode == 1 and "unknown vendor" in refused.stderr


def test_rate_limit_answers_429_with_retry_after(setup):
    from fastapi.testclient import TestClient

    from anpr_warehouse.service.app import create_app

    app = create_app(setup["warehouse"], setup["vendors"], rate_per_second=0.2, burst=2)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {setup['keys']['vendor_a']}"}
        statuses = [client.get("/v1/questions", headers=headers) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[-1].headers["retry-after"]) >= 1
    assert statuses[-1].headers["content-type"] == "application/problem+json"


def test_access_log_records_every_request(setup):
    key_id = setup["keys"]["vendor_b"].split("_")[1]
    get(setup, "vendor_b", f"/v1/municipalities/{OWN_A}/periods")
    entries = [json.loads(line) for line in (setup["warehouse"].parent / "api-access.jsonl").read_text().splitlines()]
    last = [e for e in entries if e["key_id"] == key_id][-1]
    assert (last["endpoint"], last["municipality"], last["status"]) == (f"/v1/municipalities/{OWN_A}/periods", OWN_A, 404)
    assert last["ms"] >= 0
    shown = anpr("access-log", "--warehouse", str(setup["warehouse"]), "--last", "5", timeout=60).stdout
    assert key_id in shown and "404" in shown
