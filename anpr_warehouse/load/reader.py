"""Reads a delivery (a folder or a .zip) safely and within fixed limits.

A delivery comes from outside, so its container is judged before its contents:
anything that is not a regular file (named pipes, sockets, devices, symbolic
links), sub-folders, nested folders, paths outside the delivery, duplicate zip
entry names, encrypted entries and compression methods other than stored and
deflate are refused WITHOUT opening or reading them (a named pipe would block
the loader forever). A file that is not part of the layout (v1: `delivery.json`
and the files of `contract.v1_files`; legacy: `GMxxxx_YYYY-MM_<kind>.csv`) is
refused by its NAME, before a byte of it is read.

Limits (the contract's "Archives and folders"):

- every file at most `MAX_FILE_BYTES` (1 GiB) uncompressed;
- the whole delivery at most `MAX_DELIVERY_BYTES` (4 GiB);
- a zip entry at most `MAX_ZIP_RATIO` (200) times its compressed size;
- at most `MAX_ENTRIES` (1000) entries and a zip central directory of at most
  `MAX_ZIP_DIRECTORY_BYTES` (16 MiB), because zipfile parses the whole
  directory into memory before anything else can be checked.

Sizes are counted while reading, in `CHUNK_BYTES` (1 MiB) chunks, never taken
from a zip header (a header may lie); reading stops at the first chunk over a
limit and the delivery is refused with rule `limits`, naming the file. A zip is
read twice: once only counting (so a zip bomb costs one chunk of memory, never
its unpacked size), then, only when every limit held, once more to keep the
bytes (still counted, so an archive swapped in between cannot get past the
limits). A folder's files are regular files whose size the file system knows,
so an oversized one is refused before it is read; the read itself is still
counted. Memory is therefore bounded by the accepted delivery itself.

Everything is read before anything is checked or written, so a delivery is
judged as one whole and a half-readable zip never gets half loaded. Any error
zipfile raises on a hostile archive becomes a `zip` refusal, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .. import contract as c
from .parsing import ParsedTable, PlainFields, decode, parse_csv
from .problems import Collector, Problem

MAX_FILE_BYTES = 1 << 30  # 1 GiB: a municipality-month file is tens of MB
MAX_DELIVERY_BYTES = 4 << 30  # 4 GiB for all files together
MAX_ZIP_RATIO = 200  # deflate of a CSV stays far below this; a zip bomb reaches ~1000
MAX_ENTRIES = 1000  # a delivery has 18 files; a million empty entries is an attack
MAX_ZIP_DIRECTORY_BYTES = 16 << 20
CHUNK_BYTES = 1 << 20

MANIFEST_NAME = "delivery.json"
# File names of a v1 delivery do not depend on the period year (only code-list identifiers do).
V1_NAMES = frozenset({MANIFEST_NAME, *c.v1_files(2000)})
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
ENCRYPTED_FLAG = 0x1
# What zipfile (and zlib under it) raise on corrupt or hostile archives.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    IndexError,
)
NOT_OPENED = "; not opened"


@dataclass
class RawDelivery:
    source: str
    files: dict[str, bytes]
    # (where, text) of everything the reader saw besides file contents: folder and zip entry names,
    # the zip comment. The plate guard scans these too.
    source_texts: list[tuple[str, str]] = field(default_factory=list)
    _digests: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    # plain files as the plate guard had Arrow split them, which the parser then takes as they are
    plain_fields: dict[str, PlainFields] = field(default_factory=dict, repr=False, compare=False)

    def parse(self, name: str, delimiter: str, header: tuple[str, ...], problems: Collector) -> ParsedTable | None:
        """One file decoded and parsed (parsing.decode, parsing.parse_csv), its text released on return.

        Why: the plate guard keeps each plain file's text beside its split fields (plain_fields) for
        the parser; held until checking ended, a month's texts (~21 MB for 40 locations) stayed in
        memory through every check. The parsed rows share the split fields' Arrow arrays, so only the
        text goes.
        """
        fields = self.plain_fields.pop(name, None)
        text = decode(name, self.files[name], problems, fields)
        return parse_csv(name, text, delimiter, header, problems, self.files[name], fields) if text is not None else None

    def sha256(self, name: str) -> bytes:
        """The SHA-256 of one file, computed once: the manifest check and the content checksum both need it."""
        if name not in self._digests:
            self._digests[name] = hashlib.sha256(self.files[name]).digest()
        return self._digests[name]


class Refusal(Exception):
    """Reading stopped (a limit was passed, a file turned out not to be regular); carries the refusal."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def read_delivery(path: Path) -> tuple[RawDelivery, list[Problem]]:
    name = path.name
    if not path.exists():
        return RawDelivery(str(path), {}), [Problem(name, "layout", f"no such folder or zip: {path}")]
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() == ".zip":
        return _read_zip(path)
    return RawDelivery(str(path), {}), [Problem(name, "layout", "a delivery is a folder or a .zip file")]


# ---- what may be read -------------------------------------------------------------------------


def _layout_names(names: Iterable[str]) -> frozenset[str] | None:
    """The file names the delivery's layout allows, judged by names alone; None if no layout fits."""
    names = set(names)
    if MANIFEST_NAME in names:
        return V1_NAMES
    legacy = frozenset(n for n in names if c.LEGACY_FILE_RE.match(n))
    return legacy or None


def _no_layout(where: str) -> Problem:
    return Problem(
        where, "layout", f"neither {c.CONTRACT_V1} (no delivery.json) nor {c.CONTRACT_LEGACY} (no GMxxxx_YYYY-MM_*.csv files)"
    )


def _extra(where: str, names: frozenset[str]) -> Problem:
    layout = "the contract" if names is V1_NAMES else "the legacy layout (GMxxxx_YYYY-MM_<kind>.csv)"
    return Problem(where, "extra-file", f"file is not part of {layout}{NOT_OPENED}")


def _kind(mode: int) -> str:
    """What a non-regular file is, in words, from its lstat mode."""
    for test, words in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def _not_regular(where: str, mode: int) -> Problem:
    return Problem(where, "file-type", f"{_kind(mode)}; only regular files are accepted in a delivery{NOT_OPENED}")


def _blocks_reading(problems: list[Problem]) -> bool:
    """Extra files are refused by name and the rest can still be checked; anything else stops reading."""
    return any(p.rule != "extra-file" for p in problems)


# ---- counting reads ----------------------------------------------------------------------------


class _Budget:
    """Counts the bytes really read, per file and for the whole delivery, and stops at a limit."""

    def __init__(self) -> None:
        self.total = 0

    def drain(self, stream: BinaryIO, where: str, compressed: int | None, keep: bool) -> bytes:
        """Reads `stream` to its end in chunks; returns the bytes if `keep`, else b"" (only counted)."""
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(CHUNK_BYTES):
            size += len(chunk)
            self.total += len(chunk)
            self._check(where, size, compressed)
            if keep:
                chunks.append(chunk)
        return b"".join(chunks)

    def _check(self, where: str, size: int, compressed: int | None) -> None:
        if size > MAX_FILE_BYTES:
            raise Refusal(
                Problem(
                    where,
                    "limits",
                    f"unpacks to more than {MAX_FILE_BYTES} bytes, the limit for one file (1 GiB); reading stopped",
                )
            )
        if compressed is not None and size > MAX_ZIP_RATIO * compressed:
            raise Refusal(
                Problem(
                    where,
                    "limits",
                    f"unpacks to more than {MAX_ZIP_RATIO} times its {compressed} compressed bytes (a zip bomb); reading stopped",
                )
            )
        if self.total > MAX_DELIVERY_BYTES:
            raise Refusal(
                Problem(
                    where,
                    "limits",
                    f"the delivery unpacks to more than {MAX_DELIVERY_BYTES} bytes, the limit (4 GiB); reading stopped",
                )
            )


# ---- folders -----------------------------------------------------------------------------------


def _read_folder(path: Path) -> tuple[RawDelivery, list[Problem]]:
    raw = RawDelivery(str(path), {})
    try:
        problems = _read_folder_into(path, raw)
    except Refusal as exc:
        raw.files, problems = {}, [exc.problem]
    except OSError as exc:
        where = Path(exc.filename).name if exc.filename else path.name
        raw.files, problems = {}, [Problem(where, "file-type", f"cannot be read: {exc.strerror}")]
    return raw, problems


def _read_folder_into(path: Path, raw: RawDelivery) -> list[Problem]:
    entries = _scan(path)
    raw.source_texts = [(e.name, e.name) for e in entries]
    allowed = _layout_names(e.name for e in entries)
    problems: list[Problem] = [] if allowed else [_no_layout(path.name)]
    accepted: list[tuple[os.DirEntry, os.stat_result]] = []
    for entry in entries:
        st = entry.stat(follow_symlinks=False)  # lstat: never opens the entry
        if stat.S_ISDIR(st.st_mode):
            problems.append(Problem(entry.name, "extra-file", f"unexpected sub-folder in the delivery{NOT_OPENED}"))
        elif not stat.S_ISREG(st.st_mode):
            problems.append(_not_regular(entry.name, st.st_mode))
        elif allowed and entry.name not in allowed:
            problems.append(_extra(entry.name, allowed))
        else:
            accepted.append((entry, st))
    if not allowed or _blocks_reading(problems):
        return problems
    try:
        _refuse_known_sizes([(e.name, st.st_size) for e, st in accepted])
        budget = _Budget()
        raw.files = {entry.name: _read_regular(entry, budget) for entry, _ in accepted}
    except Refusal as exc:
        raw.files = {}
        problems.append(exc.problem)
    return problems


def _scan(path: Path) -> list[os.DirEntry]:
    """The folder's entries, at most MAX_ENTRIES of them (a listing of millions is refused, not kept)."""
    entries = []
    with os.scandir(path) as it:
        for entry in it:
            entries.append(entry)
            if len(entries) > MAX_ENTRIES:
                raise Refusal(
                    Problem(path.name, "limits", f"more than {MAX_ENTRIES} entries in the folder; a delivery has a few files")
                )
    return sorted(entries, key=lambda e: e.name)


def _refuse_known_sizes(sizes: list[tuple[str, int]]) -> None:
    """Refuses before reading when the file system already says a file or the whole is too large."""
    for name, size in sizes:
        if size > MAX_FILE_BYTES:
            raise Refusal(Problem(name, "limits", f"{size} bytes, more than the limit for one file (1 GiB); not read"))
    total = sum(size for _, size in sizes)
    if total > MAX_DELIVERY_BYTES:
        raise Refusal(
            Problem(sizes[-1][0], "limits", f"the delivery's files hold {total} bytes, more than the limit (4 GiB); not read")
        )


def _read_regular(entry: os.DirEntry, budget: _Budget) -> bytes:
    """Opens without following links and without blocking, checks it is still a regular file, reads counted."""
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", buffering=0) as stream:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for a pipe or device after it was listed
            raise Refusal(_not_regular(entry.name, mode))
        return budget.drain(stream, entry.name, None, keep=True)


# ---- zips --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str  # the file name in the delivery (folder prefix stripped)
    where: str  # how a message names it: <zip>!<entry>
    info: zipfile.ZipInfo
    compressed: int  # compressed bytes, at most the space the entry really occupies in the archive


def _read_zip(path: Path) -> tuple[RawDelivery, list[Problem]]:
    zname = path.name
    raw = RawDelivery(str(path), {})
    problems: list[Problem] = []
    try:
        with _open_regular_zip(path) as stream:
            _refuse_huge_directory(stream, zname)
            with zipfile.ZipFile(stream) as archive:
                entries = _list_zip(archive, zname, raw.source_texts, problems)
                if not _blocks_reading(problems):
                    _read_entries(archive, entries, keep=False)  # counting only: a bomb never reaches memory
                    raw.files = _read_entries(archive, entries, keep=True)
    except Refusal as exc:
        problems.append(exc.problem)
    except ZIP_ERRORS as exc:
        problems.append(Problem(zname, "zip", f"not a readable zip archive (truncated, corrupt or unsupported): {exc}"))
    if _blocks_reading(problems):
        raw.files = {}
    return raw, problems


def _open_regular_zip(path: Path) -> BinaryIO:
    """Opens the archive without blocking (a named pipe called x.zip must not hang the loader)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    stream = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        stream.close()
        raise Refusal(_not_regular(path.name, mode))
    return stream


def _refuse_huge_directory(stream: BinaryIO, zname: str) -> None:
    """Checks the end record before zipfile loads the whole central directory into memory."""
    end_record = getattr(zipfile, "_EndRecData", None)  # zipfile's own parser of the end record
    if end_record is None:
        return
    record = end_record(stream)
    if not record:
        raise zipfile.BadZipFile("File is not a zip file")
    entries, size = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]
    if entries > MAX_ENTRIES or size > MAX_ZIP_DIRECTORY_BYTES:
        raise Refusal(
            Problem(zname, "limits", f"{entries} entries in a {size}-byte directory; a delivery has a few files; not read")
        )
    stream.seek(0)


def _list_zip(archive: zipfile.ZipFile, zname: str, texts: list[tuple[str, str]], problems: list[Problem]) -> list[_Entry]:
    """Judges every entry by its directory record alone; returns what may be read, adds what is refused."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise Refusal(Problem(zname, "limits", f"more than {MAX_ENTRIES} entries; a delivery has a few files"))
    if archive.comment:
        texts.append((f"{zname} (comment)", archive.comment.decode("utf-8", errors="replace")))
    spans = _spans(infos, archive.start_dir)
    candidates: list[_Entry] = []
    prefixes: set[str] = set()
    seen: dict[str, str] = {}
    for info in infos:
        where = f"{zname}!{info.filename}"
        texts.append((where, info.filename))
        if info.comment:
            texts.append((f"{where} (comment)", info.comment.decode("utf-8", errors="replace")))
        problem, parts = _entry_problem(info, where)
        if problem is None and len(parts) == 1 and info.is_dir():
            continue  # the delivery's own folder
        if problem is None:
            prefixes.add(parts[0] if len(parts) == 2 else "")
            key = parts[-1].casefold()
            if key in seen:
                twice = "occurs twice" if seen[key] == info.filename else f"differs only in case from {seen[key]!r}"
                problem = Problem(where, "zip", f"entry name {twice}; each file must be in the zip once{NOT_OPENED}")
            seen.setdefault(key, info.filename)
        if problem is not None:
            problems.append(problem)
        else:
            candidates.append(_Entry(parts[-1], where, info, max(1, min(info.compress_size, spans[info.header_offset]))))
    if len(prefixes) > 1:
        problems.append(Problem(zname, "zip", "entries must all sit in one folder (or all at the top)"))
    allowed = _layout_names(PurePosixPath(i.filename).name for i in infos if not i.is_dir())  # refused ones count too
    if not allowed:
        problems.append(_no_layout(zname))
        return []
    problems += [_extra(e.where, allowed) for e in candidates if e.name not in allowed]
    return [e for e in candidates if e.name in allowed]


def _entry_problem(info: zipfile.ZipInfo, where: str) -> tuple[Problem | None, tuple[str, ...]]:
    """The first reason to refuse an entry from its directory record alone, and its path parts."""
    name = info.filename
    parts = PurePosixPath(name).parts
    if not parts or "\\" in name or name.startswith("/") or ".." in parts or any(":" in p for p in parts):
        return Problem(where, "zip", f"entry path points outside the delivery folder{NOT_OPENED}"), parts
    if len(parts) > 2 or (len(parts) == 2 and info.is_dir()):
        return Problem(where, "extra-file", f"nested folders are not part of a delivery{NOT_OPENED}"), parts
    if info.is_dir():
        return None, parts
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # made on Unix: a link or device
        return _not_regular(where, mode), parts
    if info.flag_bits & ENCRYPTED_FLAG:
        return Problem(where, "zip", f"entry is encrypted; a delivery is never encrypted{NOT_OPENED}"), parts
    if info.compress_type not in ZIP_METHODS:
        return Problem(
            where, "zip", f"compression method {info.compress_type} is not stored (0) or deflate (8){NOT_OPENED}"
        ), parts
    return None, parts


def _spans(infos: list[zipfile.ZipInfo], directory_start: int) -> dict[int, int]:
    """Bytes from each entry's local header to the next one (or the directory): its data cannot be larger.

    The ratio limit divides by this, not by the header's compressed size alone, so a header that
    claims a large compressed size cannot make a bomb look harmless.
    """
    offsets = sorted({i.header_offset for i in infos} | {directory_start})
    return {start: end - start for start, end in zip(offsets, offsets[1:])} | {offsets[-1]: 0}


def _read_entries(archive: zipfile.ZipFile, entries: list[_Entry], keep: bool) -> dict[str, bytes]:
    budget = _Budget()
    files = {}
    for entry in entries:
        try:
            with archive.open(entry.info) as stream:
                files[entry.name] = budget.drain(stream, entry.where, entry.compressed, keep)
        except ZIP_ERRORS as exc:
            raise Refusal(Problem(entry.where, "zip", f"entry cannot be read (truncated, corrupt or forged): {exc}")) from exc
    return files
