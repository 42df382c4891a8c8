"""A bounded per-snapshot cache whose values are computed once per key, also when many requests ask at once.

Why one mechanism: the service keeps three kinds of answers per snapshot (encoded responses,
standard questions' answers, whole answers that ranges are sliced from). A snapshot is
immutable, so none of them ever goes stale; what costs is computing them (DuckDB). When
sixteen clients ask the same new question together, the first computes it and the others
wait for its value instead of running the same query side by side. The bound keeps a
long-lived snapshot's memory flat: when full, the oldest half goes (cheap, and the keys
asked lately are the ones asked again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


class SingleFlightCache(Generic[V]):
    """Values by key, at most `limit` of them; `once(key, compute)` runs `compute()` once per key."""

    def __init__(self, limit: int):
        if limit < 2:
            raise ValueError("a cache that halves when full needs room for at least two values")
        self.limit = limit
        self._values: dict[Hashable, V] = {}
        self._running: dict[Hashable, threading.Lock] = {}  # key -> held while its first asker computes it
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Hashable]:
        """The keys held now (a copy: safe while other threads add)."""
        with self._lock:
            return iter(list(self._values))

    def get(self, key: Hashable) -> V | None:
        return self._values.get(key)

    def put(self, key: Hashable, value: V) -> V:
        """Keeps `value` (the oldest half goes first when full) and returns it."""
        with self._lock:
            self._store(key, value)
        return value

    def once(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value of `key`, computed by `compute()` the first time. Concurrent askers of a key being computed wait
        for the first one; if it fails, each of them runs `compute()` itself (and its error is theirs)."""
        value = self._values.get(key, _MISSING)  # the hot path: a hit costs one dict lookup, no lock
        if value is not _MISSING:
            return value
        with self._lock:
            value = self._values.get(key, _MISSING)
            if value is not _MISSING:
                return value
            running = self._running.get(key)
            owner = running is None
            if owner:
                running = self._running[key] = threading.Lock()
                running.acquire()
        if not owner:
            with running:  # released when the first asker is done
                pass
            value = self._values.get(key, _MISSING)
            return compute() if value is _MISSING else value
        try:
            value = compute()
            with self._lock:
                self._store(key, value)
            return value
        finally:
            with self._lock:
                del self._running[key]
            running.release()

    def _store(self, key: Hashable, value: V) -> None:
        """Under the lock: adds a value, first dropping the oldest half when full."""
        if key not in self._values and len(self._values) >= self.limit:
            for old in list(self._values)[: self.limit // 2]:
                del self._values[old]
        self._values[key] = value
