"""A load of many deliveries: their checks run in worker processes, one writer loads them in order.

Why: a delivery's checks (reading, the plate guard, Arrow parsing, the contract's SQL in an in-memory
DuckDB) are CPU-bound and never touch the warehouse, so they parallelise; the warehouse has one
writer, and the register's decision (new, correction, already loaded) depends on every delivery
before it. So workers only check (`check_for_load`), and this process decides and writes each
delivery in the order given (`load_checked`), exactly as a one-by-one load would: the same results,
the same refusals and messages, a refused delivery writes nothing, loading twice changes nothing.

Memory stays bounded: at most `jobs` checked deliveries wait for the writer besides the one it writes.
A worker hands its parsed tables over as Arrow files in a spool folder (in memory, /dev/shm, where there
is one), which this process maps without copying: through the pool's result pipe a month is ~33 MB
of pickle that a worker can only send as fast as this process, busy writing, reads it.

The writer keeps one DuckDB connection for the whole batch (loader.WarehouseSession): once the first
delivery is written the warehouse stays attached read-write until the batch ends, so other processes
wait for the batch rather than for each delivery.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..warehouse import DEFAULT_WAIT_SECONDS
from .delivery import CheckedDelivery
from .loader import LoadResult, WarehouseSession, check_for_load, load_checked, load_delivery
from .problems import DeliveryRefused, Problem

JOBS_ENV = "ANPR_LOAD_JOBS"  # worker processes for the checks; "1": check in this process, one by one
MAX_JOBS = 4  # a delivery's checks take ~0.4 GB: more workers than this would cost memory, not time


@dataclass(frozen=True)
class Outcome:
    """One delivery's result, or the exception its load raised, handed over in order."""

    result: LoadResult | None = None
    error: BaseException | None = None

    def get(self) -> LoadResult:
        """The result, or raises what the load raised (DeliveryRefused, WarehouseBusy, ...)."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def default_jobs(deliveries: int) -> int:
    """$ANPR_LOAD_JOBS, else one worker per usable core (at most MAX_JOBS), never more than deliveries."""
    wanted = os.environ.get(JOBS_ENV, "").strip()
    jobs = int(wanted) if wanted.isdigit() and int(wanted) > 0 else min(len(os.sched_getaffinity(0)), MAX_JOBS)
    return max(1, min(jobs, deliveries))


def load_many(
    paths: Sequence[Path],
    warehouse: Path,
    supersedes: str | None = None,
    wait: float = DEFAULT_WAIT_SECONDS,
    audit: bool | None = None,
    jobs: int | None = None,
) -> Iterator[tuple[Path, Outcome]]:
    """Each path with its outcome, in the order given; each delivery is written before the next is yielded."""
    jobs = default_jobs(len(paths)) if jobs is None else max(1, min(jobs, len(paths)))
    if jobs == 1:
        for path in paths:
            yield path, _outcome(load_delivery, path, warehouse, supersedes, wait, audit)
        return
    # spawn, not fork: the parent may already hold DuckDB's threads (tests, `anpr run`), and a forked
    # copy of a running DuckDB can deadlock
    with (
        tempfile.TemporaryDirectory(prefix="anpr-load-", dir=_spool_parent()) as spool,
        ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        session = WarehouseSession(warehouse, threads=1)  # one connection for every write: the workers use the other cores
        pending: deque[tuple[Path, Future, Path]] = deque()
        upcoming = enumerate(paths)

        def submit_next() -> None:
            index, path = next(upcoming, (None, None))
            if path is not None:
                handover = Path(spool) / str(index)
                pending.append((path, pool.submit(_check, path, supersedes, handover), handover))

        for _ in range(jobs):
            submit_next()
        try:
            while pending:
                path, future, handover = pending.popleft()
                submit_next()  # keeps every worker busy while this process writes
                yield path, _outcome(_write_checked, future, handover, warehouse, wait, audit, session)
        finally:
            session.close()  # before the caller's next step (e.g. a build) opens the warehouse
            for _, future, _ in pending:  # the caller stopped (an error, Ctrl-C): nothing more is checked
                future.cancel()


def _outcome(load: Callable[..., LoadResult], *args: Any) -> Outcome:
    try:
        return Outcome(result=load(*args))
    except Exception as exc:  # handed to the caller, which reports it exactly as a one-by-one load would
        return Outcome(error=exc)


def _spool_parent() -> str | None:
    """/dev/shm where it is a writable folder (the hand-over never touches a disk), else the system's temp folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _check(path: Path, supersedes: str | None, spool: Path) -> tuple[CheckedDelivery | None, str, list[Problem]]:
    """In a worker: the checked delivery with its tables spooled to `spool`, or None with the refusal.

    A refusal travels as plain data: DeliveryRefused's own constructor does not survive pickling.
    """
    try:
        checked = check_for_load(path, supersedes, threads=1)  # the other workers use the other cores
    except DeliveryRefused as refused:
        return None, refused.source, refused.problems
    try:
        spool.mkdir()
        for i, parsed in enumerate(checked.tables.values()):
            with pa.OSFile(str(spool / f"{i}.arrow"), "wb") as sink, pa.ipc.new_file(sink, parsed.table.schema) as writer:
                writer.write_table(parsed.table)
    except OSError:  # a full or missing spool: the tables travel through the pipe instead, slower but whole
        shutil.rmtree(spool, ignore_errors=True)
        return checked, "", []
    for parsed in checked.tables.values():
        parsed.table = None  # travels as its file
    return checked, "", []


def _write_checked(
    future: Future, spool: Path, warehouse: Path, wait: float, audit: bool | None, session: WarehouseSession | None = None
) -> LoadResult:
    """Here, in order: writes what a worker checked, or raises its refusal (or the error the worker met)."""
    checked, source, problems = future.result()
    if checked is None:
        raise DeliveryRefused(source, problems)
    try:
        for i, parsed in enumerate(checked.tables.values()):
            if parsed.table is None:
                parsed.table = pa.ipc.open_file(pa.memory_map(str(spool / f"{i}.arrow"))).read_all()
        return load_checked(checked, warehouse, wait, audit, threads=1, session=session)  # the workers use the other cores
    finally:
        shutil.rmtree(spool, ignore_errors=True)  # mapped tables stay readable; their memory goes when they are dropped
