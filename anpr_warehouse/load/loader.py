"""`anpr load`: a checked delivery into the raw layer, atomically and idempotently.

Checks run in an in-memory DuckDB; the warehouse file is attached read-only to
decide what to do, and read-write only when there is something to write, inside
one transaction. A refused delivery therefore never opens the warehouse for
writing, and a process killed mid-load leaves an uncommitted transaction that
DuckDB discards on the next open.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..duckdb_settings import connect_in_memory, table_exists
from ..warehouse import DEFAULT_WAIT_SECONDS, LockWait, write_errors_explained
from .delivery import CheckedDelivery
from .problems import DeliveryRefused, Problem
from .raw_schema import RAW_SCHEMA, REGISTER, create_raw_schema_sql, raw_table_for
from .validate import check_delivery

AUDIT_ENV = "ANPR_LOAD_AUDIT"  # "0": loads skip the disclosure audit unless asked for it
FAULT_ENV = "ANPR_FAULT_INJECT"  # test hook: "mid-load" exits the process inside the transaction


@dataclass(frozen=True)
class LoadResult:
    delivery_id: str
    status: str  # "loaded", "correction", "already-loaded"
    message: str
    rows: int = 0
    at_risk: int | None = None  # confidential cells the disclosure audit found at risk (None: not audited)


@dataclass(frozen=True)
class RegisterEntry:
    delivery_id: str
    content_sha256: str
    version: int
    status: str
    superseded_by: str | None


def _register_rows(
    con: duckdb.DuckDBPyConnection, db: str, municipality: str, period: str, delivery_id: str
) -> tuple[RegisterEntry | None, RegisterEntry | None, dict[str, RegisterEntry]]:
    """(this delivery's entry, the current delivery of its month, all entries of its month)."""
    if not table_exists(con, RAW_SCHEMA, REGISTER, db):
        return None, None, {}
    rows = con.execute(
        f"""select delivery_id, content_sha256, version, status, superseded_by from {db}.{RAW_SCHEMA}.{REGISTER}
            where delivery_id = ? or (municipality_code = ? and period_code = ?)""",
        [delivery_id, municipality, period],
    ).fetchall()
    entries = {r[0]: RegisterEntry(*r) for r in rows}
    current = next((e for e in entries.values() if e.status == "current"), None)
    return entries.get(delivery_id), current, entries


def decide(
    checked: CheckedDelivery, own: RegisterEntry | None, current: RegisterEntry | None, entries: dict[str, RegisterEntry]
) -> tuple[str, CheckedDelivery, str]:
    """What loading this delivery means given the register: ("noop"|"load"|"correction", delivery, message).

    Raises DeliveryRefused when the register makes the delivery unacceptable.
    """
    meta = checked.meta
    label = f"{meta.municipality_code} {meta.period_code}"

    def refuse(message: str) -> DeliveryRefused:
        return DeliveryRefused(checked.source, [Problem(Path(checked.source).name, "register", message)])

    if own is not None:
        if own.content_sha256 != checked.content_sha256:
            raise refuse(f"delivery {meta.delivery_id} was loaded before with different content; CBS must send a new version")
        suffix = f" (superseded by {own.superseded_by})" if own.superseded_by else ""
        return "noop", checked, f"{meta.delivery_id} is already loaded{suffix}; nothing changed"
    if current is None:
        if meta.supersedes and meta.supersedes in entries:
            raise refuse(f"{meta.supersedes} is already superseded by {entries[meta.supersedes].superseded_by}")
        return "load", checked, f"{meta.delivery_id} loaded for {label}"
    if meta.supersedes != current.delivery_id:
        raise refuse(
            f"{label} already has current delivery {current.delivery_id}; a correction must name it in 'supersedes'"
            + (" (for the legacy layout: anpr load --supersedes ID)" if checked.layout == "legacy" else "")
        )
    if checked.layout == "legacy":
        checked = dataclasses.replace(checked, meta=dataclasses.replace(meta, version=current.version + 1))
    elif meta.version <= current.version:
        raise refuse(f"version {meta.version} is not newer than the current version {current.version} of {label}")
    return "correction", checked, f"{checked.meta.delivery_id} replaces {current.delivery_id} for {label}"


def _attach(con: duckdb.DuckDBPyConnection, warehouse: Path, read_only: bool, lock: LockWait) -> None:
    """Attaches the warehouse, waiting (bounded by `lock`) while another process holds it."""
    mode = " (read_only)" if read_only else ""
    quoted = str(warehouse).replace("'", "''")  # a quote in the path is part of the name, not SQL
    lock.retry(lambda: con.execute(f"attach '{quoted}' as wh{mode}"))


def load_delivery(
    path: Path,
    warehouse: Path,
    supersedes: str | None = None,
    wait: float = DEFAULT_WAIT_SECONDS,
    audit: bool | None = None,
) -> LoadResult:
    """Checks and loads one delivery; raises DeliveryRefused with every problem found.

    Waits up to `wait` seconds in total while another process holds the warehouse, then
    raises WarehouseBusy; a disk that refuses the write raises WarehouseWriteFailed. With
    `audit` the disclosure audit's counts are recorded in the same transaction; None means
    audited unless the environment says `ANPR_LOAD_AUDIT=0` (the test suite's default: the LPs
    cost seconds per delivery, and tests/python/test_audit.py audits loads explicitly).
    """
    return load_checked(check_for_load(path, supersedes), warehouse, wait, audit)


def check_for_load(path: Path, supersedes: str | None = None, threads: int | None = None) -> CheckedDelivery:
    """Every check of one delivery, without the warehouse: a delivery that may be loaded, or DeliveryRefused.

    The warehouse-free half of a load, so a load of many deliveries can run it in worker processes
    (anpr_warehouse/load/batch.py) while one process writes; `threads`: see check_delivery.
    """
    checked, problems = check_delivery(path, threads)
    if checked is None:
        raise DeliveryRefused(str(path), problems)
    if supersedes is not None:
        if checked.layout != "legacy":
            raise DeliveryRefused(
                str(path),
                [Problem(path.name, "supersedes", "--supersedes is only for the legacy layout; v1 says it in delivery.json")],
            )
        checked.meta = dataclasses.replace(checked.meta, supersedes=supersedes)
    return checked


def load_checked(
    checked: CheckedDelivery,
    warehouse: Path,
    wait: float = DEFAULT_WAIT_SECONDS,
    audit: bool | None = None,
    threads: int | None = None,
    session: WarehouseSession | None = None,
) -> LoadResult:
    """The warehouse half of a load: the register decides, then one transaction writes (see load_delivery).

    `threads` caps DuckDB's threads for the write: beside a parallel load's check workers (batch.py)
    one thread writes with less CPU (measured 5.8 -> 4.5 CPU s for 12 months) and is not held up
    waiting for its sibling threads on busy cores. `session`: a batch's connection, kept open from
    one delivery to the next (see WarehouseSession); without it this load opens and closes its own.
    """
    if audit is None:
        audit = os.environ.get(AUDIT_ENV, "1") != "0"
    meta = checked.meta
    lock = LockWait(warehouse, wait)
    own_session = session is None
    if session is None:
        session = WarehouseSession(warehouse, threads)
    try:
        con = session.for_reading(lock)
        if con is not None:
            action, checked, message = decide(
                checked, *_register_rows(con, "wh", meta.municipality_code, meta.period_code, meta.delivery_id)
            )
            session.release_read()  # a read-only hold would keep writers out while the audit runs
        else:
            action, checked, message = decide(checked, None, None, {})
        if action == "noop":
            return LoadResult(meta.delivery_id, "already-loaded", message)
        audited = _audit(checked) if audit else None
        try:
            with write_errors_explained(warehouse):
                written = _write(session.for_writing(lock), checked, action, audited)
        except BaseException:
            session.close()  # the next delivery starts from a fresh connection, as a load of its own would
            raise
    finally:
        if own_session:
            session.close()
    if written is None:
        return LoadResult(meta.delivery_id, "already-loaded", f"{meta.delivery_id} was loaded by another process meanwhile")
    rows, at_risk = written
    return LoadResult(checked.meta.delivery_id, "loaded" if action == "load" else "correction", message, rows, at_risk)


class WarehouseSession:
    """The in-memory DuckDB through which loads read the register and write the warehouse (attached as `wh`).

    Why: a batch (batch.py) writes dozens of deliveries in a row, and opening a DuckDB instance and
    attaching the warehouse twice per delivery cost the single writer CPU and I/O each time (measured
    on 8 months: 0.40 -> 0.37 CPU s and 1.12 -> 0.96 s wall per delivery). A session keeps one
    connection: the warehouse is attached read-only only while the register is read, until the first
    write; from then on it stays attached read-write until `close`. A batch that writes nothing
    therefore never opens the file for writing (refused deliveries leave it byte-for-byte unchanged),
    and every delivery is still its own transaction, committed before the next one is decided.
    """

    def __init__(self, warehouse: Path, threads: int | None = None):
        self.warehouse = warehouse
        self.threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self._mode: str | None = None  # None: not attached, "ro" or "rw"

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect_in_memory(spill_beside=self.warehouse)
            if self.threads is not None:
                self._con.execute(f"set threads = {int(self.threads)}")
        return self._con

    def for_reading(self, lock: LockWait) -> duckdb.DuckDBPyConnection | None:
        """The connection with the warehouse attached (read-only unless already read-write); None if there is no warehouse yet."""
        if self._mode is None:
            if not self.warehouse.exists():
                return None
            _attach(self._connection(), self.warehouse, read_only=True, lock=lock)
            self._mode = "ro"
        return self._con

    def release_read(self) -> None:
        """Detaches a read-only warehouse; a read-write one stays for the batch's next delivery."""
        if self._mode == "ro":
            self._con.execute("detach wh")
            self._mode = None

    def for_writing(self, lock: LockWait) -> duckdb.DuckDBPyConnection:
        """The connection with the warehouse attached read-write (created if missing)."""
        if self._mode != "rw":
            self.release_read()
            self.warehouse.parent.mkdir(parents=True, exist_ok=True)
            _attach(self._connection(), self.warehouse, read_only=False, lock=lock)
            self._mode = "rw"
        return self._con

    def close(self) -> None:
        """Closes the connection (DuckDB checkpoints a read-write warehouse as it detaches it)."""
        if self._con is not None:
            self._con.close()
        self._con, self._mode = None, None


def _audit(checked: CheckedDelivery):
    """The disclosure audit of an accepted delivery (anpr_warehouse/audit/), before the write lock is taken."""
    from ..audit.register import audit_checked

    return audit_checked(checked)


def _write(con: duckdb.DuckDBPyConnection, checked: CheckedDelivery, action: str, audited=None) -> tuple[int, int | None] | None:
    meta = checked.meta
    con.execute("begin transaction")
    try:
        for statement in create_raw_schema_sql("wh"):
            con.execute(statement)
        # Re-read the register inside the transaction: another process may have loaded meanwhile.
        own, current, entries = _register_rows(con, "wh", meta.municipality_code, meta.period_code, meta.delivery_id)
        again, _, _ = decide(checked, own, current, entries)
        if again == "noop":
            con.execute("rollback")
            return None
        rows = 0
        for i, file in enumerate(sorted(checked.tables)):
            table = checked.arrow(file)
            if raw_table_for(checked.layout, file) == "cbs_v1_code_lists":
                table = table.append_column("code_list", pa.array([file.removesuffix(".csv")] * len(table), pa.string()))
            con.register("incoming", table)
            con.execute(
                f"""insert into wh.{RAW_SCHEMA}.{raw_table_for(checked.layout, file)} by name
                    select ? as delivery_id, _line as line_number, * exclude (_line) from incoming""",
                [meta.delivery_id],
            )
            con.unregister("incoming")
            rows += len(table)
            if i == 0 and os.environ.get(FAULT_ENV) == "mid-load":
                os._exit(86)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if action == "correction":
            con.execute(
                f"update wh.{RAW_SCHEMA}.{REGISTER} set status = 'superseded', superseded_by = ?, superseded_at = ? where delivery_id = ?",
                [meta.delivery_id, now, meta.supersedes],
            )
        con.execute(
            f"""insert into wh.{RAW_SCHEMA}.{REGISTER}
                (delivery_id, contract, layout, municipality_code, municipality_name, period_code, period_start,
                 period_end, version, supersedes, produced_at, sdc_min_cell, sdc_rounding_base, content_sha256,
                 source_path, row_count, loaded_at, status)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'current')""",
            [
                meta.delivery_id,
                meta.contract,
                checked.layout,
                meta.municipality_code,
                meta.municipality_name,
                meta.period_code,
                meta.period_start,
                meta.period_end,
                meta.version,
                meta.supersedes,
                meta.produced_at,
                meta.min_cell,
                meta.rounding_base,
                checked.content_sha256,
                # only the delivery's own name: the plate guard scanned it; the folders above it are the operator's
                Path(checked.source).name,
                rows,
                now,
            ],
        )
        # --- disclosure audit hook (anpr_warehouse/audit/register.py): its own table, same transaction ---
        at_risk = None
        if audited is not None:
            from ..audit.register import store_audit

            at_risk = store_audit(con, "wh", audited)
        # --- end of audit hook ---
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass  # a failed commit (e.g. disk full) has already ended the transaction: report the cause
        raise
    return rows, at_risk
