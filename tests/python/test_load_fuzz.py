"""Nothing at the door can hurt: mutated deliveries never crash `anpr load`, and a refusal changes nothing.

The fuzz test derives a few hundred broken deliveries from the small valid ones (v1 folder,
v1 zip, legacy folder) with a seeded generator, so every run tries the same inputs and a
failure names the case that reproduces it. Each is loaded by the real CLI in a subprocess.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery

from .conftest import file_sha256

MANIFEST = "delivery.json"
CASES = int(os.environ.get("ANPR_FUZZ_CASES", "300"))
SEED = 20260601
WORKERS = 2
ALLOWED_EXIT_CODES = {0, 2, 3}
# Crashes found by this test whose root is in a module another change owns: the CLI's last line of
# defence turns them into one line (exit 1, nothing loaded); they are listed, not failed, until fixed there.
# Crashes known but not yet fixed (stderr text -> why); empty: the reader now refuses corrupt deflate streams.
KNOWN_CRASHES: dict[str, str] = {}
# Bytes that break parsers in interesting ways: separators, quotes, line ends, a BOM, NUL, a
# zero-width space, invalid UTF-8, a sign, a long number, a lone high byte.
PALETTE = [
    b"\x00",
    b"\xff",
    b'"',
    b",",
    b";",
    b"\n",
    b"\r",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xe2\x80\x8b",
    b"\xc3",
    b"-",
    b"+",
    b"=",
    b"9" * 15,
    b"NaN",
    b"1e5",
    b" ",
    b"\t",
    b"T001",
    b"GM0344",
    b"\\u0000",
    b"{",
    b"]",
]


@dataclass(frozen=True)
class Case:
    number: int
    base: str  # "v1", "zip" or "legacy"
    description: str


def _mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One byte- or line-level change: what a broken disk, transfer or hand edit does to a file."""
    lines = data.split(b"\n")
    kind = rng.choice(
        ["flip", "truncate", "insert-bytes", "delete-bytes", "insert-line", "delete-line", "duplicate-line", "swap-lines"]
    )
    at = rng.randrange(len(data) + 1)
    if kind == "flip" and data:
        at = min(at, len(data) - 1)
        data = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    elif kind == "truncate":
        data = data[:at]
    elif kind == "insert-bytes":
        data = data[:at] + (rng.choice(PALETTE) if rng.random() < 0.7 else rng.randbytes(rng.randint(1, 8))) + data[at:]
    elif kind == "delete-bytes":
        data = data[:at] + data[at + rng.randint(1, 40) :]
    else:
        i = rng.randrange(len(lines))
        if kind == "insert-line":
            lines.insert(
                i, rng.choice([b"", b",,,,", b";;;;", rng.randbytes(12), b",".join(rng.choice(PALETTE) for _ in range(6))])
            )
        elif kind == "delete-line":
            del lines[i]
        elif kind == "duplicate-line":
            lines.insert(i, lines[i])
        else:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        data = b"\n".join(lines)
    return data, f"{kind}@{at}"


# Values of the wrong kind for a field or a manifest entry: dates and hours out of range, signs,
# exponents, huge numbers, the other ValueAttributes, a non-breaking space, empty.
ODD_FIELDS = [
    "",
    " ",
    "-5",
    "+5",
    "1e3",
    "5.0",
    "0x10",
    "99999999999999999999",
    "2025-02-30",
    "2025-3-5",
    "31-02-2025",
    "H24",
    "24",
    "-1",
    "Confidential",
    "None",
    "Impossible",
    "\u00a0",
    "T001",
    "GM0000_L999",
    "NaN",
    "inf",
    "\u0660",
]
ODD_JSON = [
    None,
    "",
    "x",
    -1,
    0,
    10**20,
    1.5,
    True,
    [],
    {},
    "2025-02-30",
    "GM0344",
    "cbs-anpr-delivery/2",
    {"code": 1},
    [{"name": 1}],
]


def _replace_field(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One field of one row replaced by a value of the wrong kind: reaches the checks behind the parser."""
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    separator = b";" if lines[0].count(b";") > lines[0].count(b",") else b","
    fields = lines[i].split(separator)
    j = rng.randrange(len(fields))
    fields[j] = rng.choice(ODD_FIELDS).encode()
    lines[i] = separator.join(fields)
    return b"\n".join(lines), f"field-{i}.{j}"


def _replace_json_value(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One value anywhere in delivery.json replaced by a value of another type or range."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data, "json-unparsable"
    slots = []  # (container, key) of every value in the document

    def walk(node) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            slots.append((node, key))
            walk(value)

    walk(doc)
    if not slots:
        return data, "json-empty"
    container, key = rng.choice(slots)
    container[key] = rng.choice(ODD_JSON)
    return json.dumps(doc, indent=2).encode(), f"json-{key}"


def _resign(files: dict[str, bytes], name: str) -> None:
    """Makes the manifest agree with a changed file (checksum and rows), so the deeper checks run."""
    try:
        manifest = json.loads(files[MANIFEST])
        entry = next(f for f in manifest["files"] if f["name"] == name)
    except (ValueError, KeyError, StopIteration, TypeError):
        return
    entry["sha256"] = hashlib.sha256(files[name]).hexdigest()
    entry["rows"] = max(0, files[name].rstrip(b"\n").count(b"\n"))
    files[MANIFEST] = json.dumps(manifest, indent=2).encode()


def _mutate_files(rng: random.Random, files: dict[str, bytes], layout: str) -> str:
    """Changes one to three files in place; returns what it did."""
    done = []
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(sorted(files))
        if name == MANIFEST and rng.random() < 0.5:
            files[name], what = _replace_json_value(rng, files[name])
        elif rng.random() < 0.4:
            files[name], what = _replace_field(rng, files[name])
        else:
            files[name], what = _mutate_bytes(rng, files[name])
        done.append(f"{name}:{what}")
        if layout == "v1" and name != MANIFEST and rng.random() < 0.6:
            _resign(files, name)
            done.append("resigned")
    return " ".join(done)


def _zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names: that is the point
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:  # a fixed timestamp: the same case, the same bytes, every run
                archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 4, 20, 10, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _zip_case(rng: random.Random, files: dict[str, bytes], path: Path) -> str:
    """Entry-level damage (shuffled, dropped, duplicated, renamed entries), content damage, or archive bytes damage."""
    entries = sorted(files.items())
    kind = rng.choice(["shuffle", "drop", "duplicate", "rename", "content", "archive-bytes", "archive-bytes"])
    if kind == "shuffle":
        rng.shuffle(entries)
    elif kind == "drop":
        entries.pop(rng.randrange(len(entries)))
    elif kind == "duplicate":
        i = rng.randrange(len(entries))
        entries.insert(rng.randrange(len(entries) + 1), (entries[i][0], rng.choice([entries[i][1], entries[i][1][:-5]])))
    elif kind == "rename":
        i = rng.randrange(len(entries))
        entries[i] = (
            rng.choice(["../" + entries[i][0], "x/" + entries[i][0], entries[i][0].upper(), entries[i][0] + "\x00"]),
            entries[i][1],
        )
    elif kind == "content":
        kind += " " + _mutate_files(rng, files, "v1")
        entries = sorted(files.items())
    archive = _zip_bytes(entries)
    if kind == "archive-bytes":
        archive, what = _mutate_bytes(rng, archive)
        kind += " " + what
    path.write_bytes(archive)
    return f"zip {kind}"


def make_case(number: int, sources: dict[str, dict[str, bytes]], folder: Path) -> tuple[Case, Path]:
    """Writes case `number` under `folder` and returns it with the path to load."""
    rng = random.Random(f"{SEED}-{number}")
    base = ("v1", "zip", "legacy")[number % 3]
    files = dict(sources["legacy" if base == "legacy" else "v1"])
    if base == "zip":
        path = folder / "CBS-ANPR-GM0344-2025MM03-1.zip"
        description = _zip_case(rng, files, path)
    else:
        path = folder / ("legacy" if base == "legacy" else "CBS-ANPR-GM0344-2025MM03-1")
        description = _mutate_files(rng, files, base)
        path.mkdir()
        for name, data in files.items():
            (path / name).write_bytes(data)
    return Case(number, base, description), path


def _read_folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _load(case: Case, delivery: Path, warehouse: Path) -> str | None:
    """Loads one case in a subprocess; returns what went wrong, or None."""
    before = file_sha256(warehouse)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "anpr_warehouse.cli", "load", str(delivery), "--warehouse", str(warehouse), "--wait", "5"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return f"case {case.number} ({case.base}: {case.description}): no answer within 120 s"
    problems = []
    known = [why for text, why in KNOWN_CRASHES.items() if text in proc.stderr and "internal error" in proc.stderr]
    if proc.returncode not in ALLOWED_EXIT_CODES and not (proc.returncode == 1 and known):
        problems.append(f"exit code {proc.returncode}")
    if "Traceback" in proc.stderr:
        problems.append("a traceback reached the user")
    if proc.returncode != 0 and file_sha256(warehouse) != before:
        problems.append("a refused delivery changed the warehouse file")
    if not problems:
        return f"KNOWN case {case.number} ({case.base}: {case.description}): {known[0]}" if known else None
    return f"case {case.number} ({case.base}: {case.description}): {', '.join(problems)}\n{proc.stderr[-1500:]}"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """The files of a valid v1 and legacy delivery, two camera sites: small files make each case fast."""
    out = tmp_path_factory.mktemp("fuzz-sources")
    return {
        layout: _read_folder(
            generate_delivery(GenerateRequest("GM0344", 2025, 3, layout=layout, seed=7, locations=2), out / layout)
        )
        for layout in ("v1", "legacy")
    }


@pytest.mark.slow
def test_mutated_deliveries_never_crash_the_loader(sources, loaded_warehouse_template, tmp_path):
    started = time.monotonic()

    def run(number: int) -> tuple[int, str | None]:
        folder = tmp_path / f"case{number:03d}"
        folder.mkdir()
        case, delivery = make_case(number, sources, folder)
        warehouse = folder / "warehouse.duckdb"
        shutil.copy(loaded_warehouse_template, warehouse)
        try:
            return case.number, _load(case, delivery, warehouse)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(run, range(CASES)))
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    failures = [failure for _, failure in results if failure and not failure.startswith("KNOWN")]
    known = [failure for _, failure in results if failure and failure.startswith("KNOWN")]
    print(
        f"\nfuzz: {CASES} mutated deliveries loaded in {time.monotonic() - started:.0f} s with {WORKERS} workers "
        f"({cpu:.0f} CPU-s, load average {os.getloadavg()[0]:.1f}); {len(failures)} failures, {len(known)} known"
    )
    print("\n".join(known))
    assert not failures, "\n\n".join(failures)


def test_a_refusal_lists_at_most_20_lines_per_rule(copy_delivery, warehouse):
    """The contract: at most 20 lines per rule, then `... and N more` (naming the files)."""
    path = copy_delivery("v1")
    for i in range(30):
        (path / f"stray{i:02d}.csv").write_text("a,b\n", encoding="utf-8")
    before = file_sha256(warehouse)
    proc = subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "load", str(path), "--warehouse", str(warehouse), "--wait", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    stray = [line for line in proc.stderr.splitlines() if "[extra-file]" in line]
    assert len(stray) == 21, proc.stderr
    assert (
        stray[-1].strip()
        == "stray20.csv, stray21.csv, stray22.csv and 7 more files: [extra-file] ... and 10 more problem(s) of this kind"
    )
    assert file_sha256(warehouse) == before
