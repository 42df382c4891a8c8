"""OGC API - Features, Part 1 Core with GeoJSON: the camera sites, so QGIS or ArcGIS Pro add them by URL.

One collection, `camera-locations`: a point per camera site (WGS84) with the
month's figures and their completeness (the same answers as the export package's
locations.geojson). Only the caller's municipalities are ever listed.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from .app import authenticate
from .problems import Problem, not_found
from .state import Caller, SnapshotContext, entitled_municipality

router = APIRouter(prefix="/ogc", tags=["ogc-features"])
COLLECTION = "camera-locations"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GEOJSON = "application/geo+json"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(body: dict, media: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media)


@router.get(
    "/",
    summary="Landing page (OGC API - Features)",
    response_description="Links to the API definition, conformance and collections",
    response_model=dict[str, Any],
)
def ogc_landing(request: Request) -> JSONResponse:
    base = _base(request)
    return _json(
        {
            "title": "ANPR camera sites",
            "description": "Camera sites of the municipalities your key can read, with the month's figures.",
            "links": [
                {"href": f"{base}/ogc/", "rel": "self", "type": "application/json", "title": "this document"},
                {
                    "href": f"{base}/v1/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "the API definition",
                },
                {"href": f"{base}/v1/docs", "rel": "service-doc", "type": "text/html", "title": "the API documentation"},
                {
                    "href": f"{base}/ogc/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "conformance classes",
                },
                {"href": f"{base}/ogc/collections", "rel": "data", "type": "application/json", "title": "collections"},
            ],
        }
    )


@router.get(
    "/conformance",
    summary="Conformance classes",
    response_description="The OGC conformance classes this service implements",
    response_model=dict[str, Any],
)
def ogc_conformance() -> JSONResponse:
    return _json({"conformsTo": CONFORMANCE})


def _bbox(ctx: SnapshotContext, caller: Caller) -> list[float]:
    rows = [
        r
        for r in ctx.rows(
            "select municipality_code, min(longitude), min(latitude), max(longitude), max(latitude) "
            "from marts.dim_location group by 1"
        )
        if caller.sees(r[0])
    ]
    if not rows:
        return [3.3, 50.7, 7.3, 53.6]  # the Netherlands
    return [min(r[1] for r in rows), min(r[2] for r in rows), max(r[3] for r in rows), max(r[4] for r in rows)]


def _collection(request: Request, ctx: SnapshotContext, caller: Caller) -> dict:
    base = _base(request)
    months = sorted({m for code, info in ctx.municipalities.items() if caller.sees(code) for m in info["months"]})
    return {
        "id": COLLECTION,
        "title": "Camera sites",
        "itemType": "feature",
        "description": "ANPR camera sites; properties hold the month's passages, logistics passages and zero-emission share, "
        "each with confidential_cells and complete (false: a lower bound). Filter with datetime=YYYY-MM.",
        "extent": {
            "spatial": {"bbox": [_bbox(ctx, caller)], "crs": CRS84},
            "temporal": {
                "interval": [[f"{months[0]}-01T00:00:00Z" if months else None, f"{months[-1]}-01T00:00:00Z" if months else None]]
            },
        },
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/ogc/collections/{COLLECTION}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/ogc/collections/{COLLECTION}/items", "rel": "items", "type": GEOJSON, "title": "camera sites"},
        ],
    }


@router.get(
    "/collections",
    summary="Feature collections",
    response_description="The camera-locations collection with its extent",
    response_model=dict[str, Any],
)
def ogc_collections(request: Request, caller: Caller = Depends(authenticate)) -> JSONResponse:
    base = _base(request)
    return _json(
        {
            "collections": [_collection(request, request.state.ctx, caller)],
            "links": [{"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"}],
        }
    )


@router.get(
    "/collections/{collection_id}",
    summary="One feature collection",
    response_description="The collection with its spatial and temporal extent",
    response_model=dict[str, Any],
)
def ogc_collection(
    request: Request, collection_id: str = PathParam(max_length=64, examples=[COLLECTION]), caller: Caller = Depends(authenticate)
) -> JSONResponse:
    if collection_id != COLLECTION:
        raise not_found(f"no collection {collection_id!r}; the collection is {COLLECTION!r}")
    return _json(_collection(request, request.state.ctx, caller))


def _features(ctx: SnapshotContext, caller: Caller, municipality: str | None, month: str | None) -> list[dict]:
    if municipality:
        entitled_municipality(ctx, caller, municipality)
    codes = [municipality] if municipality else [c for c in ctx.municipalities if caller.sees(c)]
    features = []
    for code in codes:
        months = ctx.municipalities[code]["months"]
        if not months:
            continue
        chosen = month or months[-1]
        figures: dict[str, dict] = {}
        if chosen in months:
            for name in ("locations", "locations_zero_emission"):
                result = ctx.question_answer(name, code, chosen)
                for row in result.rows:
                    figures.setdefault(row["location"], {}).update({m: row[m].as_json() for m in result.metrics})
        elif month:
            continue  # asked for a month this municipality has no data for
        for loc, name, zone, direction, entry, lat, lon in ctx.rows(
            """select location_code, location_name, zone_code, direction_code, is_zone_entry, latitude, longitude
               from marts.dim_location where municipality_code = ? order by location_code""",
            [code],
        ):
            features.append(
                {
                    "type": "Feature",
                    "id": loc,
                    "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                    "properties": {
                        "location_code": loc,
                        "name": name,
                        "municipality": code,
                        "zone_code": zone,
                        "direction": direction,
                        "is_zone_entry": entry,
                        "month": chosen,
                        **figures.get(loc, {}),
                    },
                }
            )
    return features


def _month(datetime: str | None) -> str | None:
    if datetime is None:
        return None
    text = datetime.strip()
    match = MONTH.match(text[:7]) if len(text) >= 7 else None
    if not match or "/" in text:
        raise Problem(
            422, "invalid-datetime", "datetime must be one month, e.g. 2025-03 (or an instant in it, 2025-03-01T00:00:00Z)"
        )
    return text[:7]


@router.get(
    "/collections/{collection_id}/items",
    summary="Camera sites as GeoJSON features (paged)",
    response_description="A GeoJSON FeatureCollection with numberMatched, numberReturned and a next link",
    response_model=dict[str, Any],
    responses={200: {"content": {GEOJSON: {}}}},
)
def ogc_items(
    request: Request,
    collection_id: str = PathParam(max_length=64, examples=[COLLECTION]),
    bbox: str | None = Query(
        default=None, max_length=200, description="minLon,minLat,maxLon,maxLat (WGS84)", examples=["4.7,52.2,5.3,52.5"]
    ),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    municipality: str | None = Query(default=None, pattern=r"^GM\d{4}$", examples=["GM0344"]),
    datetime: str | None = Query(
        default=None, max_length=40, description="A month, YYYY-MM (default: each municipality's latest)", examples=["2025-03"]
    ),
    caller: Caller = Depends(authenticate),
) -> JSONResponse:
    if collection_id != COLLECTION:
        raise not_found(f"no collection {collection_id!r}; the collection is {COLLECTION!r}")
    ctx = request.state.ctx
    features = _features(ctx, caller, municipality, _month(datetime))
    if bbox:
        try:
            box = [float(v) for v in bbox.split(",")]
            if len(box) != 4:
                raise ValueError
        except ValueError:
            raise Problem(422, "invalid-bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat") from None
        features = [
            f
            for f in features
            if box[0] <= f["geometry"]["coordinates"][0] <= box[2] and box[1] <= f["geometry"]["coordinates"][1] <= box[3]
        ]
    page = features[offset : offset + limit]
    request.state.rows = len(page)
    base = f"{_base(request)}/ogc/collections/{COLLECTION}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset",)}
    from urllib.parse import urlencode

    links = [{"href": f"{base}?{urlencode({**params, 'offset': offset})}", "rel": "self", "type": GEOJSON}]
    if offset + limit < len(features):
        links.append({"href": f"{base}?{urlencode({**params, 'offset': offset + limit})}", "rel": "next", "type": GEOJSON})
    return _json(
        {
            "type": "FeatureCollection",
            "features": page,
            "numberMatched": len(features),
            "numberReturned": len(page),
            "links": links,
        },
        GEOJSON,
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One camera site",
    response_description="A GeoJSON Feature with the month's figures",
    response_model=dict[str, Any],
    responses={200: {"content": {GEOJSON: {}}}},
)
def ogc_item(
    request: Request,
    collection_id: str = PathParam(max_length=64, examples=[COLLECTION]),
    feature_id: str = PathParam(max_length=64, examples=["GM0344_L001"]),
    datetime: str | None = Query(default=None, max_length=40, examples=["2025-03"]),
    caller: Caller = Depends(authenticate),
) -> JSONResponse:
    if collection_id != COLLECTION:
        raise not_found(f"no collection {collection_id!r}; the collection is {COLLECTION!r}")
    ctx = request.state.ctx
    owner = ctx.rows("select municipality_code from marts.dim_location where location_code = ?", [feature_id])
    if not owner or not caller.sees(owner[0][0]):
        raise not_found(f"no camera site {feature_id!r}")
    found = [f for f in _features(ctx, caller, owner[0][0], _month(datetime)) if f["id"] == feature_id]
    if not found:
        raise not_found(f"no camera site {feature_id!r} for that month")
    request.state.municipality = owner[0][0]
    return _json(found[0], GEOJSON)
