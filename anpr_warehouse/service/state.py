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
from ..metrics import MetricLayer, MetricResult
from ..snapshots import Snapshot, current_snapshot, pointer_stamp
from ..standard_questions import answer, total_for
from .access_log import AccessLog, access_log_file
from .keys import ANALYST, ApiKey, KeyStore, keys_file
from .problems import Problem, not_found
from .ratelimit import RateLimiter

MAX_DOCUMENTS = 2000  # encoded answers kept per snapshot
MAX_COMPUTED = 256  # whole answers kept per snapshot for answer_once (larger than one response: every month)
COARSER = {"day": ("week", "month", "quarter", "year"), "month": ("quarter", "year")}  # metric_time grains above the finest


@dataclass
class SnapshotContext:
    """One snapshot with its read-only metric layer and per-snapshot caches (immutable data, so caches never go stale)."""

    snapshot: Snapshot
    layer: MetricLayer
    cache_root: Path
    _answers: dict = field(default_factory=dict)
    documents: dict = field(default_factory=dict)  # encoded responses by request key (immutable snapshot: never stale)
    _computed: dict = field(default_factory=dict)  # answers reused by other requests (query.py: a range is a slice)
    _running: dict = field(default_factory=dict)  # key -> lock held while its first asker computes it
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
                for finest, grains in COARSER.items()
                if f"metric_time__{finest}" in dims
                for grain in grains
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

    def remember(self, key: tuple, body: bytes, rows: int) -> tuple[bytes, int]:
        """Keeps an encoded answer for this snapshot (bounded: the oldest half goes when full)."""
        with self._lock:
            if len(self.documents) >= MAX_DOCUMENTS:
                for old in list(self.documents)[: MAX_DOCUMENTS // 2]:
                    del self.documents[old]
            self.documents[key] = (body, rows)
        return body, rows

    def answer_once(self, key: tuple, compute):
        """`compute()` once per key on this snapshot (bounded: the oldest half goes when full). Concurrent askers of the same key wait
        for the first one instead of running the same DuckDB query side by side; if it fails, each runs it itself."""
        with self._lock:
            if key in self._computed:
                return self._computed[key]
            running = self._running.get(key)
            if running is None:
                running = self._running[key] = threading.Lock()
                running.acquire()
                owner = True
            else:
                owner = False
        if not owner:
            with running:  # released when the first asker is done
                pass
            with self._lock:
                if key in self._computed:
                    return self._computed[key]
            return compute()
        try:
            value = compute()
            with self._lock:
                if len(self._computed) >= MAX_COMPUTED:
                    for old in list(self._computed)[: MAX_COMPUTED // 2]:
                        del self._computed[old]
                self._computed[key] = value
            return value
        finally:
            with self._lock:
                del self._running[key]
            running.release()

    def question_answer(self, name: str, municipality: str, month: str | None) -> MetricResult:
        """A standard question's answer, with the same differencing guard as the export package; cached."""
        key = (name, municipality, month)
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        from ..differencing import withhold

        question = next(q for q in self.layer.questions if q.name == name)
        month_start = f"{month}-01" if month else None
        result = answer(self.layer, question, municipality, month_start)
        if question.part_of:
            total = total_for(self.layer, question, municipality, month_start)
            for metric in question.metrics:
                withhold(result, total, metric, question.part_of, question.part_dimension)
        with self._lock:
            self._answers[key] = result
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
