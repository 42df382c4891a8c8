"""Reads a delivery (a folder or a .zip) into memory, refusing unsafe archives.

Everything is read before anything is checked or written, so a delivery is judged
as one whole and a half-readable zip never gets half loaded.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .problems import Problem

MAX_UNPACKED_BYTES = 4 << 30  # a municipality-month is tens of MB; 4 GiB means a zip bomb


@dataclass
class RawDelivery:
    source: str
    files: dict[str, bytes]
    # (where, text) of everything the reader saw besides file contents: folder and zip entry names,
    # the zip comment. The plate guard scans these too.
    source_texts: list[tuple[str, str]] = field(default_factory=list)


def read_delivery(path: Path) -> tuple[RawDelivery, list[Problem]]:
    name = path.name
    if not path.exists():
        return RawDelivery(str(path), {}), [Problem(name, "layout", f"no such folder or zip: {path}")]
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() == ".zip":
        return _read_zip(path)
    return RawDelivery(str(path), {}), [Problem(name, "layout", "a delivery is a folder or a .zip file")]


def _read_folder(path: Path) -> tuple[RawDelivery, list[Problem]]:
    files, problems = {}, []
    for entry in sorted(path.iterdir()):
        if entry.is_dir():
            problems.append(Problem(entry.name, "extra-file", "unexpected sub-folder in the delivery"))
        elif entry.is_symlink():
            problems.append(Problem(entry.name, "extra-file", "symbolic links are not accepted in a delivery"))
        else:
            files[entry.name] = entry.read_bytes()
    return RawDelivery(str(path), files), problems


def _read_zip(path: Path) -> tuple[RawDelivery, list[Problem]]:
    zname = path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return RawDelivery(str(path), {}), [Problem(zname, "zip", f"not a readable zip archive (truncated or corrupt): {exc}")]
    problems: list[Problem] = []
    files: dict[str, bytes] = {}
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            return RawDelivery(str(path), {}), [Problem(zname, "zip", f"unpacks to {total} bytes, more than a delivery can be")]
        prefixes = set()
        for info in infos:
            entry = PurePosixPath(info.filename.replace("\\", "/"))
            if entry.is_absolute() or ".." in entry.parts or info.filename.startswith(("/", "\\")) or ":" in entry.parts[0]:
                problems.append(Problem(f"{zname}!{info.filename}", "zip", "entry path points outside the delivery folder"))
                continue
            if len(entry.parts) > 2:
                problems.append(Problem(f"{zname}!{info.filename}", "extra-file", "nested folders are not part of a delivery"))
                continue
            prefixes.add(entry.parts[0] if len(entry.parts) == 2 else "")
            try:
                files[entry.name] = archive.read(info)
            except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:
                problems.append(Problem(f"{zname}!{info.filename}", "zip", f"entry cannot be read (truncated or corrupt): {exc}"))
        if len(prefixes) > 1:
            problems.append(Problem(zname, "zip", "entries must all sit in one folder (or all at the top)"))
    return RawDelivery(str(path), files), problems
