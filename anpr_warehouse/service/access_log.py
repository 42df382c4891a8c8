"""The access log: one JSON line per request (time, key id, endpoint, municipality, rows, status, ms).

Kept next to the keys (`<warehouse dir>/api-access.jsonl`), never in the warehouse
file the loader locks. Lines are appended under a lock, so threads never interleave.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path


def access_log_file(warehouse: Path) -> Path:
    return warehouse.parent / "api-access.jsonl"


class AccessLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._out = None

    def write(self, entry: dict) -> None:
        """Appends one line; the file stays open (line-buffered), so a request costs one write call."""
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with self._lock:
            if self._out is None:
                self._out = self.path.open("a", encoding="utf-8", buffering=1)
            self._out.write(line)


def tail(path: Path, count: int) -> list[dict]:
    """The last `count` entries (oldest first)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in deque(lines, maxlen=count) if line.strip()]
