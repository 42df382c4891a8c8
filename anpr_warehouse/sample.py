"""The shipped sample: what `anpr run` (and `make run`) generates and loads.

Three municipalities x three months, one month in the legacy layout, one
correction and one month whose emission and sector tables hold only the nested
totals (not the full cube), so every path of the loader and the models is exercised.
March holds the spring daylight-saving day (H02 impossible).
"""

from __future__ import annotations

from pathlib import Path

from .generate import GenerateRequest

SAMPLE_MUNICIPALITIES = ("GM0344", "GM0363", "GM0599")
SAMPLE_MONTHS = ((2025, 1), (2025, 2), (2025, 3))
LEGACY = {("GM0599", 2025, 2)}
CORRECTED = {("GM0344", 2025, 3)}
NESTED = {("GM0363", 2025, 3)}
SAMPLE_LOCATIONS = 12


def sample_requests(seed: int = 1) -> list[GenerateRequest]:
    """Originals first, corrections last, so loading in this order exercises supersession."""
    originals, corrections = [], []
    for muni in SAMPLE_MUNICIPALITIES:
        for year, month in SAMPLE_MONTHS:
            layout = "legacy" if (muni, year, month) in LEGACY else "v1"
            totals = "nested" if (muni, year, month) in NESTED else "cube"
            originals.append(
                GenerateRequest(muni, year, month, layout=layout, seed=seed, locations=SAMPLE_LOCATIONS, totals=totals)
            )
            if (muni, year, month) in CORRECTED:
                corrections.append(GenerateRequest(muni, year, month, seed=seed, locations=SAMPLE_LOCATIONS, version=2))
    return originals + corrections


def sample_paths(out: Path) -> Path:
    return out / "deliveries"
