"""Small helpers around the warehouse file that several commands share.

DuckDB lets one process write a file, or several read it, never both: a second
process gets "Could not set lock on file". Every open of the warehouse goes
through `LockWait` here, so a busy warehouse means waiting a bounded time and
then one clear message (exit code 3), never a stack trace.
"""

from __future__ import annotations

import errno
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from . import duckdb_settings
from .errors import UserError, WarehouseBusy, WarehouseWriteFailed

DEFAULT_WAIT_SECONDS = 60.0
_LOCK_ERROR = re.compile(r'Could not set lock on file "([^"]*)"')
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DISK_FULL_TEXTS = ("No space left on device", "File too large", "Disk quota exceeded")
_FIRST_PAUSE, _LONGEST_PAUSE = 0.05, 1.0

T = TypeVar("T")


def is_lock_error(exc: BaseException) -> bool:
    """DuckDB's refusal to open a file another process holds (its only signal is the message)."""
    return bool(_LOCK_ERROR.search(str(exc)))


def busy_from(exc: BaseException, waited: float = 0.0) -> WarehouseBusy:
    """The busy message for a lock error that surfaced after the wait (e.g. inside dbt)."""
    match = _LOCK_ERROR.search(str(exc))
    return WarehouseBusy(match.group(1) if match else "the warehouse", waited)


def is_disk_full(exc: BaseException) -> bool:
    """A write the disk refused: full, over quota, or over the file size limit (RLIMIT_FSIZE)."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return isinstance(exc, duckdb.Error) and any(text in str(exc) for text in _DISK_FULL_TEXTS)


class LockWait:
    """A budget of seconds to wait for the warehouse lock, shared by every open of one command.

    Retries with a growing pause (50 ms up to 1 s) so a short load by someone else costs little,
    and a long one ends in WarehouseBusy after `seconds` of waiting in total, however many
    times the command opens the file.
    """

    def __init__(self, warehouse: Path, seconds: float = DEFAULT_WAIT_SECONDS):
        self.warehouse = warehouse
        self.seconds = max(0.0, seconds)
        self.waited = 0.0

    def retry(self, open_warehouse: Callable[[], T]) -> T:
        pause = _FIRST_PAUSE
        while True:
            started = time.monotonic()
            try:
                return open_warehouse()
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise
            left = self.seconds - self.waited
            if left <= 0:
                raise WarehouseBusy(self.warehouse, self.waited)
            time.sleep(min(pause, left))
            self.waited += time.monotonic() - started
            pause = min(pause * 2, _LONGEST_PAUSE)


def connect(warehouse: Path, read_only: bool, wait: float | LockWait = DEFAULT_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file, waiting for another process's lock as long as allowed."""
    lock = wait if isinstance(wait, LockWait) else LockWait(warehouse, wait)
    return lock.retry(lambda: duckdb_settings.connect(warehouse, read_only=read_only))


def wait_until_free(warehouse: Path, wait: float = DEFAULT_WAIT_SECONDS, read_only: bool = False) -> float:
    """Waits until this process could open the warehouse (read-write by default), then lets go.

    For tools that open the file themselves (dbt, MetricFlow): they get the file right after.
    A missing file is free. Returns the seconds waited.
    """
    lock = LockWait(warehouse, wait)
    if warehouse.exists():
        try:
            connect(warehouse, read_only, lock).close()
        except duckdb.Error:
            pass  # not a lock (WarehouseBusy is no duckdb.Error): the tool opening the file next reports it
    return lock.waited


@contextmanager
def write_errors_explained(warehouse: Path) -> Iterator[None]:
    """Turns a write the disk refused into one line; the failed transaction has changed nothing."""
    try:
        yield
    except (duckdb.Error, OSError) as exc:
        if not is_disk_full(exc):
            raise
        raise WarehouseWriteFailed(warehouse, " ".join(str(exc).split())) from None


def connect_read_only(warehouse: Path, wait: float = DEFAULT_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise UserError(f"no warehouse at {warehouse}; load a delivery first (anpr load) or run 'anpr run'")
    return connect(warehouse, read_only=True, wait=wait)


def print_register(warehouse: Path, wait: float = DEFAULT_WAIT_SECONDS) -> int:
    """The delivery register, with each delivery's build status and whether it flows on to the marts."""
    con = connect_read_only(warehouse, wait)
    try:
        has_build = bool(
            con.execute(
                "select count(*) from duckdb_columns() where schema_name = 'raw' and table_name = 'cbs_deliveries' and column_name = 'build_status'"
            ).fetchone()[0]
        )
        flowing = _flowing_deliveries(con)
        build = "coalesce(build_status, 'not built')" if has_build else "'not built'"
        failure = "coalesce(build_failure, '')" if has_build else "''"
        rows = con.execute(
            f"""select delivery_id, layout, municipality_code, period_code, version, status,
                      coalesce(superseded_by, ''), row_count, strftime(loaded_at, '%Y-%m-%d %H:%M:%S'), {build}, {failure}
               from raw.cbs_deliveries order by municipality_code, period_code, version, loaded_at"""
        ).fetchall()
        from .audit.register import audit_counts  # disclosure audit: cells at risk per delivery

        at_risk = audit_counts(con)
        rows = [row + (at_risk.get(row[0], ""),) for row in rows]
    finally:
        con.close()
    rows = [(*row[:9], row[9], "yes" if flowing and row[0] in flowing else "", row[10], row[11]) for row in rows]
    header = (
        "delivery_id",
        "layout",
        "municipality",
        "period",
        "version",
        "status",
        "superseded_by",
        "rows",
        "loaded_at (UTC)",
        "build",
        "flows",
        "build_failure",
        "at_risk",
    )
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _flowing_deliveries(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """Deliveries staging passes on (stg_cbs__deliveries.is_flowing); None before a build created that view."""
    try:
        return {r[0] for r in con.execute("select delivery_id from staging.stg_cbs__deliveries where is_flowing").fetchall()}
    except duckdb.Error:
        return None


def table_checksums(warehouse: Path, schema: str = "raw") -> dict[str, str]:
    """A content checksum per table of `schema` (order-independent), to prove a refusal changed nothing."""
    con = connect_read_only(warehouse)
    try:
        tables = [
            r[0]
            for r in con.execute("select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]).fetchall()
        ]
        sums = {}
        for table in tables:
            digest = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {schema}.{table} as t").fetchone()
            sums[table] = hashlib.sha256(repr(digest).encode()).hexdigest()
        return sums
    finally:
        con.close()
