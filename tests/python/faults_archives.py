"""Faulty deliveries: archives and folders: non-regular files, duplicate or encrypted entries, limits.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
Zip faults forge their headers with hostile_archives.patch_entry, as an attacker would.
"""

from __future__ import annotations

import os
import socket
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

from .faulty import Fault
from .hostile_archives import MIB, bytes_to_directory, patch_entry, zip_bomb, zip_delivery

T01 = "T01_Observations.csv"


def _replace_with(make: Callable[[Path], None], name: str = T01) -> Callable[[Path], Path]:
    """Replaces a layout file of the folder by something made by `make` (a pipe, a link, ...)."""

    def mutate(folder: Path) -> Path:
        (folder / name).unlink()
        make(folder / name)
        return folder

    return mutate


def _bind_socket(path: Path) -> None:
    """A Unix socket file; bound by a relative name since socket paths are limited to ~100 bytes."""
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(here)


def _sub_folder(folder: Path) -> Path:
    (folder / "bijlagen").mkdir()
    (folder / "bijlagen" / "notes.txt").write_text("hello\n", encoding="utf-8")
    return folder


def _pipe_named_zip(folder: Path) -> Path:
    target = folder.with_suffix(".zip")
    os.mkfifo(target)
    return target


def _zip_with(*extra: tuple[str, bytes], **kwargs) -> Callable[[Path], Path]:
    """The delivery as a zip plus raw entries; `{folder}` in an entry name is the delivery's folder."""
    return lambda folder: zip_delivery(folder, [(name.format(folder=folder.name), data) for name, data in extra], **kwargs)


def _zip_patched(entry: str, **fields: int) -> Callable[[Path], Path]:
    """A delivery zip with header fields of `entry` (a layout file) forged."""

    def mutate(folder: Path) -> Path:
        target = zip_delivery(folder)
        patch_entry(target, f"{folder.name}/{entry}", **fields)
        return target

    return mutate


def _duplicate_entry(folder: Path) -> Path:
    return zip_delivery(folder, [(f"{folder.name}/{T01}", (folder / T01).read_bytes())])


def _case_variant(folder: Path) -> Path:
    return zip_delivery(folder, [(f"{folder.name}/zones.csv", (folder / "Zones.csv").read_bytes())])


def _symlink_entry(folder: Path) -> Path:
    info = zipfile.ZipInfo(f"{folder.name}/link.csv")
    info.create_system = 3  # Unix, so external_attr holds a file mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    target = zip_delivery(folder)
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr(info, "/etc/passwd")
    return target


def _symlink_named_layout_file(folder: Path) -> Path:
    target = zip_delivery(folder, skip=[T01])
    info = zipfile.ZipInfo(f"{folder.name}/{T01}")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr(info, "/etc/passwd")
    return target


def _small_bomb(folder: Path) -> Path:
    return zip_bomb(folder, T01, 8 * MIB)  # ~8 KB compressed: the 200x ratio trips long before 1 GiB


def _bomb_claiming_large_compressed_size(folder: Path) -> Path:
    """A bomb whose headers claim that every byte up to the directory is its compressed data.

    The ratio then looks harmless by the headers (8 MiB from ~60 KB); the reader must divide by
    the space the entry really has before the next entry (~8 KB) instead.
    """
    target = zip_bomb(folder, T01, 8 * MIB)
    name = f"{folder.name}/{T01}"
    patch_entry(target, name, compress_size=bytes_to_directory(target, name))
    return target


def _many_entries(folder: Path) -> Path:
    return zip_delivery(folder, [(f"{folder.name}/x{i:04d}.csv", b"") for i in range(1001)])


ARCHIVE_FAULTS: list[Fault] = [
    Fault("named pipe in folder", "v1", _replace_with(os.mkfifo), T01, "file-type"),
    Fault("symlink in folder", "v1", _replace_with(lambda p: p.symlink_to("/etc/passwd")), T01, "file-type"),
    Fault("socket in folder", "v1", _replace_with(_bind_socket, "Zones.csv"), "Zones.csv", "file-type"),
    Fault("sub-folder", "v1", _sub_folder, "bijlagen", "extra-file"),
    Fault("named pipe called .zip", "v1", _pipe_named_zip, ".zip", "file-type"),
    Fault("duplicate zip entry", "v1", _duplicate_entry, T01, "zip"),
    Fault("zip entries differing in case", "v1", _case_variant, "zones.csv", "zip"),
    Fault("encrypted zip entry", "v1", _zip_patched(T01, flags=0x1), T01, "zip"),
    Fault("deflate64 zip entry", "v1", _zip_patched(T01, method=9), T01, "zip"),
    Fault("bzip2 zip", "v1", lambda folder: zip_delivery(folder, compression=zipfile.ZIP_BZIP2), T01, "zip"),
    Fault("small zip bomb", "v1", _small_bomb, T01, "limits"),
    Fault("zip header lies: compressed size", "v1", _bomb_claiming_large_compressed_size, T01, "limits"),
    Fault("zip header lies: unpacked size", "v1", _zip_patched("Zones.csv", file_size=10), "Zones.csv", "zip"),
    Fault("nested folder in zip", "v1", _zip_with(("{folder}/sub/notes.csv", b"a\n")), "sub/notes.csv", "extra-file"),
    Fault("extra file in zip", "v1", _zip_with(("{folder}/notes.txt", b"hello\n")), "notes.txt", "extra-file"),
    Fault("symlink entry in zip", "v1", _symlink_entry, "link.csv", "file-type"),
    Fault("symlink entry with a layout name", "v1", _symlink_named_layout_file, T01, "file-type"),
    Fault("backslash path in zip", "v1", _zip_with(("{folder}\\..\\evil.csv", b"a\n")), "evil.csv", "zip"),
    Fault("absolute path in zip", "v1", _zip_with(("/tmp/evil.csv", b"a\n")), "evil.csv", "zip"),
    Fault("drive letter in zip", "v1", _zip_with(("C:/evil.csv", b"a\n")), "evil.csv", "zip"),
    Fault("too many zip entries", "v1", _many_entries, ".zip", "limits"),
]
