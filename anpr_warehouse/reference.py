"""Reference data shared by the generator, the loader and the dbt seeds.

The seeds under `seeds/reference/` are the single source; Python reads the same
files so the generator never invents a municipality the warehouse cannot label.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from .paths import SEEDS_DIR


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    province_code: str | None  # None: no curated reference data for this municipality (see the seed's yml)
    centre_latitude: float
    centre_longitude: float
    ze_zone_start_date: str | None


@lru_cache(maxsize=1)
def municipalities() -> dict[str, Municipality]:
    """Every Dutch municipality of 2025, from the seed (scripts/make_municipality_seed.py writes it)."""
    return {
        row["municipality_code"]: Municipality(
            code=row["municipality_code"],
            name=row["municipality_name"],
            province_code=row["province_code"] or None,
            centre_latitude=float(row["centre_latitude"]),
            centre_longitude=float(row["centre_longitude"]),
            ze_zone_start_date=row["ze_zone_start_date"] or None,
        )
        for row in _read_seed("ref_municipalities.csv")
    }


def is_municipality(code: str) -> bool:
    """The loader's test: a delivery comes from a real municipality or is refused."""
    return code in municipalities()


def municipality(code: str) -> Municipality:
    """A known municipality, or a deterministic stand-in for any other GM code.

    For synthetic data only (the generator): a known municipality without a curated
    province gets a stand-in province, since the simulation needs an "own province".
    """
    known = municipalities()
    digest = int(hashlib.sha256(code.encode()).hexdigest(), 16)
    if code in known:
        found = known[code]
        return found if found.province_code else dataclasses.replace(found, province_code=f"PV{20 + digest % 12}")
    return Municipality(
        code=code,
        name=f"Gemeente {code[2:]}",
        province_code=f"PV{20 + digest % 12}",
        centre_latitude=51.5 + (digest % 1000) / 1000 * 1.5,
        centre_longitude=4.5 + (digest // 1000 % 1000) / 1000 * 2.0,
        ze_zone_start_date=None,
    )


def _read_seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / "reference" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def legacy_code_map(dimension: str) -> dict[str, str]:
    """Legacy Dutch word -> standard identifier for one dimension, in file-column order."""
    return {r["legacy_word"]: r["standard_code"] for r in _read_seed("ref_legacy_code_map.csv") if r["dimension"] == dimension}


def dutch_titles(seed: str) -> dict[str, str]:
    """Identifier -> Dutch title from a code-list seed (first column is the identifier)."""
    rows = _read_seed(seed)
    key = next(iter(rows[0]))
    return {r[key]: r["title_nl"] for r in rows}
