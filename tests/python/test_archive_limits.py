"""Archive and folder limits: hostile deliveries are refused fast, in bounded memory, without reading them.

The attacks run through the real CLI in a child process whose own peak RSS is read afterwards
(os.wait4), so the memory bound is measured, not assumed. Valid deliveries must read exactly as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load import reader
from anpr_warehouse.load.reader import read_delivery
from anpr_warehouse.load.validate import content_sha256

from .hostile_archives import measured_load, sparse_file, zip_bomb, zip_delivery

PEAK_RSS_LIMIT_MB = 400  # the loader's own imports (DuckDB, Arrow) take ~115 MB; an attack may add little
SECONDS_LIMIT = 30  # on the 2 shared cores of the test machine; the attacks take ~1 s alone
T01 = "T01_Observations.csv"


@pytest.fixture()
def folder(deliveries, tmp_path) -> Path:
    target = tmp_path / deliveries["v1"].name
    shutil.copytree(deliveries["v1"], target)
    return target


def _assert_refused_fast_and_small(delivery: Path, tmp_path: Path, rule: str, file: str) -> None:
    warehouse = tmp_path / "never.duckdb"
    result = measured_load(delivery, warehouse, timeout=120)
    assert result.returncode == 2, result
    assert any(f"[{rule}]" in line and file in line for line in result.stderr.splitlines()), result.stderr
    assert "Traceback" not in result.stderr
    assert result.peak_rss_mb < PEAK_RSS_LIMIT_MB, result
    assert result.seconds < SECONDS_LIMIT, result
    assert not warehouse.exists()  # a refused load creates nothing


@pytest.mark.slow
def test_one_gib_zip_bomb_is_refused_in_seconds_and_bounded_memory(folder, tmp_path):
    bomb = zip_bomb(folder, T01, 1 << 30)
    assert bomb.stat().st_size < 2 << 20  # ~1 MB on disk, 1 GiB unpacked
    _assert_refused_fast_and_small(bomb, tmp_path, "limits", T01)


def test_two_gib_extra_file_is_refused_by_name_without_reading_it(folder, tmp_path):
    sparse_file(folder / "bijlage.bin", 2 << 30)
    _assert_refused_fast_and_small(folder, tmp_path, "extra-file", "bijlage.bin")


def test_two_gib_layout_file_is_refused_by_its_size_without_reading_it(folder, tmp_path):
    (folder / T01).unlink()
    sparse_file(folder / T01, 2 << 30)
    _assert_refused_fast_and_small(folder, tmp_path, "limits", T01)


@pytest.mark.parametrize("name", [T01, "notes.txt"])
def test_named_pipe_in_folder_does_not_hang_the_loader(folder, tmp_path, name):
    if (folder / name).exists():
        (folder / name).unlink()
    os.mkfifo(folder / name)
    result = measured_load(folder, tmp_path / "never.duckdb", timeout=60)
    assert result.returncode == 2, result  # None would mean it hung and was killed
    assert f"{name}: [file-type] a named pipe" in result.stderr


def test_named_pipe_given_as_the_zip_does_not_hang_the_loader(folder, tmp_path):
    pipe = tmp_path / "delivery.zip"
    os.mkfifo(pipe)
    result = measured_load(pipe, tmp_path / "never.duckdb", timeout=60)
    assert result.returncode == 2, result
    assert "[file-type] a named pipe" in result.stderr


def _opened_entries(monkeypatch) -> list[str]:
    """Records every zip entry the reader opens."""
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_refused_zip_entries_are_never_opened(folder, monkeypatch):
    archive = zip_delivery(folder, [(f"{folder.name}/notes.txt", b"hello\n")])
    opened = _opened_entries(monkeypatch)
    raw, problems = read_delivery(archive)
    assert [p.rule for p in problems] == ["extra-file"]
    assert opened and not any(name.endswith("notes.txt") for name in opened)
    assert "notes.txt" not in raw.files and T01 in raw.files


def test_a_structural_refusal_opens_no_entry_at_all(folder, monkeypatch):
    archive = zip_delivery(folder, [(f"{folder.name}/{T01}", b"second copy\n")])
    opened = _opened_entries(monkeypatch)
    raw, problems = read_delivery(archive)
    assert [p.rule for p in problems] == ["zip"] and "occurs twice" in problems[0].message
    assert opened == [] and raw.files == {}


def test_per_file_limit_is_counted_while_reading(folder, monkeypatch):
    archive = zip_delivery(folder, compression=zipfile.ZIP_STORED)
    largest = max(zipfile.ZipFile(archive).infolist(), key=lambda i: i.file_size)
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", largest.file_size - 1)
    _, problems = read_delivery(archive)
    assert [(p.rule, p.file.endswith(PurePosixPath(largest.filename).name)) for p in problems] == [("limits", True)]
    assert "limit for one file" in problems[0].message


def test_whole_delivery_limit_counts_every_file(folder, monkeypatch):
    total = sum(p.stat().st_size for p in folder.iterdir())
    monkeypatch.setattr(reader, "MAX_DELIVERY_BYTES", total - 1)
    archive = zip_delivery(folder)
    for delivery in (folder, archive):
        raw, problems = read_delivery(delivery)
        assert [p.rule for p in problems] == ["limits"] and raw.files == {}, problems
        assert "4 GiB" in problems[0].message


def test_names_and_comment_are_kept_for_the_plate_guard(folder):
    archive = zip_delivery(folder)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.comment = b"geleverd door CBS"
    raw, problems = read_delivery(archive)
    assert problems == []
    texts = [text for _, text in raw.source_texts]
    assert "geleverd door CBS" in texts
    assert f"{folder.name}/{T01}" in texts
    folder_raw, _ = read_delivery(folder)
    assert sorted(text for _, text in folder_raw.source_texts) == sorted(p.name for p in folder.iterdir())


def _naive_files(path: Path) -> dict[str, bytes]:
    """How the reader read deliveries before the limits: every file whole."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir()}
    with zipfile.ZipFile(path) as zf:
        return {PurePosixPath(i.filename).name: zf.read(i) for i in zf.infolist() if not i.is_dir()}


def _naive_sha256(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def test_valid_deliveries_read_byte_for_byte_as_before(deliveries, tmp_path):
    zipped = generate_delivery(GenerateRequest("GM0344", 2025, 3, seed=7, locations=4, as_zip=True), tmp_path)
    legacy_zip = generate_delivery(
        GenerateRequest("GM0344", 2025, 3, seed=7, locations=4, layout="legacy", as_zip=True), tmp_path
    )
    for path in (deliveries["v1"], deliveries["legacy"], zipped, legacy_zip):
        raw, problems = read_delivery(path)
        assert problems == [], (path, problems)
        expected = _naive_files(path)
        assert raw.files == expected
        assert content_sha256(raw) == _naive_sha256(expected)
    # the same delivery as a folder and as a zip is the same content
    assert content_sha256(read_delivery(deliveries["v1"])[0]) == content_sha256(read_delivery(zipped)[0])
