"""Builds hostile deliveries (forged zip headers, zip bombs, sparse files) and measures a load of them.

Shared by the archive fault corpus (faults_archives.py), test_archive_limits.py and
scripts/bench_archive_limits.py, so the test and the benchmark attack with the same inputs.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20

# Offsets of fields inside a zip's local file header (PK\3\4) and central directory record (PK\1\2).
LOCAL = {"flags": 6, "method": 8, "compress_size": 18, "file_size": 22}
CENTRAL = {"flags": 8, "method": 10, "compress_size": 20, "file_size": 24}
FIELD_FORMAT = {"flags": "<H", "method": "<H", "compress_size": "<I", "file_size": "<I"}


def zip_delivery(
    folder: Path, extra: Iterable[tuple[str, bytes]] = (), compression: int = zipfile.ZIP_DEFLATED, skip: Iterable[str] = ()
) -> Path:
    """Packs a delivery folder as `<folder>.zip` (entries under the folder name) plus `extra` raw entries."""
    target = folder.with_suffix(".zip")
    skipped = set(skip)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(target, "w", compression) as archive:
            for path in sorted(folder.iterdir()):
                if path.name not in skipped:
                    archive.write(path, f"{folder.name}/{path.name}")
            for name, data in extra:
                archive.writestr(name, data)
    return target


def patch_entry(archive: Path, entry: str, **fields: int) -> None:
    """Overwrites header fields of one entry in BOTH its local header and its central directory record.

    `flags` is OR-ed into the general-purpose flags; other fields are replaced.
    """
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(entry)
        directory = _central_record_offset(zf, entry)
    data = bytearray(archive.read_bytes())
    for base, layout in ((info.header_offset, LOCAL), (directory, CENTRAL)):
        for name, value in fields.items():
            fmt, at = FIELD_FORMAT[name], base + layout[name]
            if name == "flags":
                value |= struct.unpack_from(fmt, data, at)[0]
            struct.pack_into(fmt, data, at, value)
    archive.write_bytes(bytes(data))


def _central_record_offset(zf: zipfile.ZipFile, entry: str) -> int:
    """Where `entry`'s central directory record starts (walks the records from the directory start)."""
    zf.fp.seek(zf.start_dir)
    offset = zf.start_dir
    for info in zf.infolist():
        record = zf.fp.read(46)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", record, 28)
        if info.filename == entry:
            return offset
        zf.fp.seek(name_len + extra_len + comment_len, os.SEEK_CUR)
        offset += 46 + name_len + extra_len + comment_len
    raise KeyError(entry)


def write_zeros_entry(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """Streams `size` zero bytes into a deflated entry, 1 MiB at a time (a bomb without holding it in memory)."""
    zeros = bytes(MIB)
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=size >= (2 << 30) - MIB) as stream:
        left = size
        while left > 0:
            stream.write(zeros[: min(MIB, left)])
            left -= MIB


def zip_bomb(folder: Path, entry: str, size: int) -> Path:
    """A delivery zip whose FIRST entry, `entry` (a layout file, so the reader must open it), is `size` zero bytes."""
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        write_zeros_entry(archive, f"{folder.name}/{entry}", size)
        for path in sorted(folder.iterdir()):
            if path.name != entry:
                archive.write(path, f"{folder.name}/{path.name}")
    return target


def bytes_to_directory(archive: Path, entry: str) -> int:
    """Bytes from the end of `entry`'s local header name to the central directory: the most a lie can claim."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(entry)
        return zf.start_dir - info.header_offset - 30 - len(info.orig_filename.encode())


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that occupies no disk (a hole)."""
    with path.open("wb") as f:
        f.truncate(size)
    return path


@dataclass(frozen=True)
class MeasuredLoad:
    returncode: int | None  # None: killed at the timeout
    seconds: float
    peak_rss_mb: float
    stderr: str


# Runs the CLI exactly like `python -m anpr_warehouse.cli` and, at exit, reports the peak RSS of its
# own address space (VmHWM). getrusage/wait4's ru_maxrss cannot be used: Linux carries the PARENT's
# high-water mark into a forked child across exec, so a child of a 360 MB benchmark "peaks" at 360 MB.
CLI_WITH_PEAK = """
import atexit, runpy, sys
def report():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write("\\n#peak-rss-kb " + kb + "\\n")
atexit.register(report)
sys.argv[0] = "anpr"
runpy.run_module("anpr_warehouse.cli", run_name="__main__")
"""


def measured_load(delivery: Path, warehouse: Path, timeout: float = 120) -> MeasuredLoad:
    """Runs `anpr load` in its own process; returns exit code, wall time and that process's peak RSS.

    A process still running at `timeout` (a hang) is killed; its peak is then the last VmHWM polled.
    """
    cmd = [sys.executable, "-c", CLI_WITH_PEAK, "load", str(delivery), "--warehouse", str(warehouse)]
    err_path = warehouse.with_suffix(".stderr")
    polled_kb = 0
    with err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            polled_kb = _vm_hwm_kb(proc.pid)
            proc.kill()
            proc.wait()
        seconds = time.perf_counter() - started
    stderr = err_path.read_text(errors="replace")
    reported = re.findall(r"^#peak-rss-kb (\d+)$", stderr, re.M)
    peak_kb = int(reported[-1]) if reported else polled_kb
    code = None if polled_kb else proc.returncode
    stderr = re.sub(r"\n?#peak-rss-kb \d+\n", "", stderr)
    return MeasuredLoad(code, round(seconds, 2), round(peak_kb / 1024, 1), stderr)


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
