"""The shipped sample: what `anpr run` (and `make run`) generates and loads.

Three municipalities x three months, one month in the legacy layout and one
correction, so every path of the loader and the models is exercised.
"""

from __future__ import annotations

from pathlib import Path

from .generate import GenerateRequest

SAMPLE_MUNICIPALITIES = ("GM0344", "GM0363", "GM0599")
SAMPLE_MONTHS = ((2025, 1), (2025, 2), (2025, 3))
LEGACY = {("GM0599", 2025, 2)}
CORRECTED = {("GM0344", 2025, 3)}
SAMPLE_LOCATIONS = 12


def sample_requests(seed: int = 1) -> list[GenerateRequest]:
    """Originals first, corrections last, so loading in this order exercises supersession."""
    originals, corrections = [], []
    for muni in SAMPLE_MUNICIPALITIES:
        for year, month in SAMPLE_MONTHS:
            layout = "legacy" if (muni, year, month) in LEGACY else "v1"
            originals.append(GenerateRequest(muni, year, month, layout=layout, seed=seed, locations=SAMPLE_LOCATIONS))
            if (muni, year, month) in CORRECTED:
                corrections.append(GenerateRequest(muni, year, month, seed=seed, locations=SAMPLE_LOCATIONS, version=2))
    return originals + corrections


def sample_paths(out: Path) -> Path:
    return out / "deliveries"
