"""What the service answers from: the current snapshot, its metric layer and its caches.

Each request takes the context of the snapshot current when it starts and keeps it
to the end, so one response never mixes two snapshots. Noticing a new snapshot
costs one stat of the pointer file per request; the switch needs no restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..entitlements import load_vendors
from ..errors import UserError
from ..metrics import TIME_GRAINS, MetricLayer, MetricResult, coarser_grains
from ..snapshots import Snapshot, current_snapshot, pointer_stamp
from ..standard_questions import answer, total_for
from .access_log import AccessLog, access_log_file
from .keys import ANALYST, ApiKey, KeyStore, keys_file
from .problems import Problem, not_found
from .ratelimit import RateLimiter
from .single_flight import SingleFlightCache

MAX_DOCUMENTS = 2000  # encoded responses (body, rows) kept per snapshot, by request
MAX_ANSWERS = 2000  # standard questions' answers kept per snapshot (question, municipality, month)
MAX_COMPUTED = 256  # whole answers other requests are cut from (query.py: a range is a slice of every month)


@dataclass
class SnapshotContext:
    """One snapshot with its read-only metric layer and per-snapshot caches (immutable data, so caches never go stale)."""

    snapshot: Snapshot
    layer: MetricLayer
    cache_root: Path
    # computed once per key and kept (single_flight.py); an immutable snapshot's answers never go stale
    documents: SingleFlightCache[tuple[bytes, int]] = field(default_factory=lambda: SingleFlightCache(MAX_DOCUMENTS))
    answers: SingleFlightCache[MetricResult] = field(default_factory=lambda: SingleFlightCache(MAX_ANSWERS))
    computed: SingleFlightCache = field(default_factory=lambda: SingleFlightCache(MAX_COMPUTED))

    @property
    def id(self) -> str:
        return self.snapshot.id

    def cursor(self):
        return self.layer.sql_client.cursor()

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        cursor = self.cursor()
        try:
            return cursor.execute(sql, params or []).fetchall()
        finally:
            cursor.close()

    @cached_property
    def municipalities(self) -> dict[str, dict]:
        """Every municipality the warehouse knows, with its loaded months (code -> info)."""
        months: dict[str, list[str]] = {}
        for code, start in self.rows(
            "select distinct municipality_code, period_start from raw.cbs_deliveries where status = 'current' order by 1, 2"
        ):
            months.setdefault(code, []).append(start.isoformat()[:7])
        return {
            code: {"code": code, "name": name, "province": province, "months": months.get(code, [])}
            for code, name, province in self.rows(
                "select municipality_code, municipality_name, province_name from marts.dim_municipality order by 1"
            )
        }

    @cached_property
    def catalogue(self) -> dict[str, dict]:
        """The public metrics with what they can be grouped and filtered by (from this snapshot's semantic manifest)."""
        entities = {e["name"] for sm in self.layer.semantic_manifest_doc["semantic_models"] for e in sm["entities"]}
        catalogue = {}
        for metric in sorted(self.layer.public_metrics(), key=lambda m: m["name"]):
            dims = self.layer.group_by_names(metric["name"])
            dims += [
                f"metric_time__{grain}"
                for finest in TIME_GRAINS
                if f"metric_time__{finest}" in dims
                for grain in coarser_grains(finest)
            ]
            linked = sorted({d.split("__")[0] for d in dims} & entities)
            meta = (metric.get("config") or {}).get("meta") or {}
            catalogue[metric["name"]] = {
                "name": metric["name"],
                "label": metric.get("label"),
                "description": metric.get("description"),
                "type": metric["type"],
                "per_zone_and_month_only": meta.get("grain") == "zone_month",
                "group_by": sorted(set(dims) | set(linked)),
                "filters": linked,
            }
        return catalogue

    def question_answer(self, name: str, municipality: str, month: str | None) -> MetricResult:
        """A standard question's answer, with the same differencing guard as the export package; cached."""
        return self.answers.once((name, municipality, month), lambda: self._ask(name, municipality, month))

    def _ask(self, name: str, municipality: str, month: str | None) -> MetricResult:
        from ..differencing import withhold

        question = next(q for q in self.layer.questions if q.name == name)
        month_start = f"{month}-01" if month else None
        result = answer(self.layer, question, municipality, month_start)
        if question.part_of:
            total = total_for(self.layer, question, municipality, month_start)
            for metric in question.metrics:
                withhold(result, total, metric, question.part_of, question.part_dimension)
        return result


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    municipalities: frozenset[str] | None  # None: every municipality (analyst)

    def sees(self, municipality: str) -> bool:
        return self.municipalities is None or municipality in self.municipalities


class ServiceState:
    """Shared by every request: warehouse paths, keys, entitlements, rate limit and the current snapshot."""

    def __init__(self, warehouse: Path, vendors: Path, rate_per_second: float = 50.0, burst: int = 100):
        self.warehouse = warehouse
        self.vendors_path = vendors
        self.keys = KeyStore(keys_file(warehouse))
        self.access_log = AccessLog(access_log_file(warehouse))
        self.limiter = RateLimiter(rate_per_second, burst)
        self.cache_root = warehouse.parent / "api-cache"
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._context: SnapshotContext | None = None
        self._vendors_stamp: float | None = None
        self._vendors: dict = {}

    def context(self) -> SnapshotContext:
        """The current snapshot's context; one stat per call, a new context when the pointer moved."""
        stamp = pointer_stamp(self.warehouse)
        with self._lock:
            if self._context is not None and stamp == self._stamp:
                return self._context
            try:
                snapshot = current_snapshot(self.warehouse)
            except UserError as exc:
                raise Problem(503, "no-snapshot", str(exc), {"Retry-After": "30"}) from None
            if self._context is None or self._context.id != snapshot.id:
                self._context = SnapshotContext(snapshot, MetricLayer.on_snapshot(snapshot), self.cache_root / snapshot.id)
            self._stamp = stamp
            return self._context

    def vendor_municipalities(self, vendor: str) -> frozenset[str] | None:
        """The vendor's municipalities from vendors.yml (re-read when the file changes); None for analysts."""
        if vendor == ANALYST:
            return None
        mtime = self.vendors_path.stat().st_mtime if self.vendors_path.exists() else None
        with self._lock:
            if mtime != self._vendors_stamp:
                self._vendors = load_vendors(self.vendors_path)
                self._vendors_stamp = mtime
            entry = self._vendors.get(vendor)
        return frozenset(entry.municipalities) if entry else frozenset()

    def vendor_formats(self, vendor: str):
        self.vendor_municipalities(vendor)
        return self._vendors.get(vendor)


def entitled_municipality(ctx: SnapshotContext, caller: Caller, code: str) -> dict:
    """The municipality if it exists and the caller may see it; otherwise the same 404 either way."""
    info = ctx.municipalities.get(code)
    if info is None or not caller.sees(code):
        raise not_found(f"no municipality {code!r} (GET /v1/municipalities lists the ones your key can read)")
    return info


def entitled_month(ctx: SnapshotContext, caller: Caller, code: str, month: str | None) -> dict:
    """The municipality (as entitled_municipality) if it has data for `month` (YYYY-MM; None: any month); else 404."""
    info = entitled_municipality(ctx, caller, code)
    if month and month not in info["months"]:
        raise not_found(f"{code} has no data for {month} (available: {', '.join(info['months']) or 'none'})")
    return info
