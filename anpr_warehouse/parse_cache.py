"""The parsed dbt project, kept between builds while nothing dbt's parse reads has changed.

Why: every `anpr build` parses the project first. dbt's partial parsing finds "no changes" on a monthly
build, but still reads its 2 MB state, hashes every file and rewrites target/manifest.json: 2.5 s of a
month's ~15 s, more than many models. Unpickling the Manifest object dbt returned last time takes a
fraction of that.

The cache is used only when everything the parse depends on is exactly as it was: every file of the
project dbt reads (models, macros, seeds, tests, analyses, snapshots, dbt_project.yml, profiles), the
environment variables the project reads (the warehouse path, which also names the database in every
node) and dbt's own `DBT_*` settings, dbt's and Python's versions, and target/manifest.json and
target/semantic_manifest.json still being the files this cache's parse and build wrote (other commands
parse too, and the snapshot publish copies them). Anything else, or any doubt (a missing or unreadable cache), parses as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import re
import sys

from .paths import PROFILES_DIR, PROJECT_ROOT

TARGET = PROJECT_ROOT / "target"
CACHE = TARGET / "anpr_parsed_manifest.pickle"
SEAL = TARGET / "anpr_parsed_manifest.json"
WRITTEN = (TARGET / "manifest.json", TARGET / "semantic_manifest.json")
PROJECT_FOLDERS = ("models", "macros", "seeds", "tests/dbt", "analyses", "snapshots")  # dbt_project.yml's paths
ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)""")


def load(key: str):
    """The cached Manifest when it was parsed from inputs with this key and target/ is as sealed, else None."""
    try:
        seal = json.loads(SEAL.read_text())
        if seal != {"key": key, "written": _written()}:
            return None
        with CACHE.open("rb") as handle:
            if pickle.load(handle) != key:
                return None
            manifest_class, fields = pickle.load(handle)
            return manifest_class(**fields)
    except Exception:  # no cache, an older format, a half-written file: parse instead
        return None


def store(key: str, manifest) -> None:
    """Keeps the Manifest a parse of inputs with this key just returned (a temporary file renamed: atomic)."""
    SEAL.unlink(missing_ok=True)
    partial = CACHE.with_suffix(f".{os.getpid()}.tmp")
    try:
        with partial.open("wb") as handle:
            pickle.dump(key, handle)
            pickle.dump((type(manifest), _public_fields(manifest)), handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(CACHE)
    except Exception:  # a cache that cannot be written only costs the next build a parse
        partial.unlink(missing_ok=True)
    seal(key)


def seal(key: str) -> None:
    """Records target/'s manifests as they are now (a build rewrites manifest.json) as this cache's own.

    Called after the parse and after a successful build; a manifest written by anything else (a parse
    of another warehouse, dbt by hand) no longer matches, and the next build parses.
    """
    written = _written()
    try:
        with CACHE.open("rb") as handle:
            cached_key = pickle.load(handle)
    except Exception:
        return
    if cached_key == key and None not in written:
        SEAL.write_text(json.dumps({"key": key, "written": written}))


def key() -> str:
    """What the parse reads, hashed: computed before parsing, so an edit during the parse is not cached."""
    from dbt.version import __version__ as dbt_version

    files = [PROJECT_ROOT / "dbt_project.yml", *sorted(p for p in PROFILES_DIR.rglob("*") if p.is_file())]
    for folder in PROJECT_FOLDERS:
        files += sorted(p for p in (PROJECT_ROOT / folder).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    env_names = set()
    for path in files:
        content = path.read_bytes()
        digest.update(f"{path.relative_to(PROJECT_ROOT)}\0{len(content)}\0".encode())
        digest.update(content)
        env_names.update(ENV_VAR.findall(content.decode("utf-8", errors="replace")))
    env = {name: value for name, value in os.environ.items() if name in env_names or name.startswith("DBT_")}
    digest.update(json.dumps([dbt_version, sys.version, sorted(env.items())]).encode())
    return digest.hexdigest()


def _written() -> list[list | None]:
    """Size and modification time of the files the parse wrote, so a later parse elsewhere is noticed."""
    stats = []
    for path in WRITTEN:
        try:
            stat = path.stat()
        except OSError:
            stats.append(None)
            continue
        stats.append([path.name, stat.st_size, stat.st_mtime_ns])
    return stats


def _public_fields(manifest) -> dict:
    """The Manifest's data, without its lookups and lock (rebuilt lazily by a new Manifest).

    Why not pickle the Manifest itself: its `__reduce_ex__` (dbt-core 1.11) passes its fields positionally
    and skips two, so an unpickled Manifest has lookups in the wrong places.
    """
    return {f.name: getattr(manifest, f.name) for f in dataclasses.fields(manifest) if not f.name.startswith("_")}
