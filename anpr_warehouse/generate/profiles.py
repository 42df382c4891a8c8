"""Realism parameters for synthetic CBS deliveries.

Every later test and benchmark runs on generated data, so the shapes here follow
what Dutch city-logistics ANPR counts look like: a morning delivery peak, quiet
nights and Sundays, mostly vans, diesel dominant with a growing electric share,
emission classes that follow the year of first admission, sectors F/G/H on top,
foreign plates as ONBK and a few frequent visitors next to many occasional ones.
"""

from __future__ import annotations

import numpy as np

# Share of passages per vehicle category (contract order: BEST VRAC TREK BUSS PERS OVER ONBK).
CATEGORY_SHARE = np.array([0.52, 0.09, 0.03, 0.02, 0.20, 0.04, 0.10])

# Day-of-week factor, Monday=0 .. Sunday=6.
DAY_OF_WEEK_FACTOR = np.array([1.00, 1.02, 1.03, 1.00, 0.95, 0.50, 0.22])


def _normalised(values: list[float]) -> np.ndarray:
    arr = np.array(values, dtype=float)
    return arr / arr.sum()


# Hour-of-day profiles: vans deliver through the day with a morning peak; trucks and
# tractor units come early (loading windows); cars and buses follow commuter peaks.
HOUR_PROFILE_VAN = _normalised(
    [0.2, 0.1, 0.1, 0.1, 0.3, 1.0, 3.0, 6.5, 8.8, 8.6, 7.9, 7.4, 6.8, 6.9, 6.7, 6.2, 5.6, 4.6, 3.0, 1.9, 1.2, 0.8, 0.5, 0.3]
)
HOUR_PROFILE_TRUCK = _normalised(
    [0.3, 0.2, 0.2, 0.4, 1.2, 3.5, 7.5, 10.5, 11.0, 10.0, 8.8, 7.5, 6.3, 5.6, 4.8, 4.0, 3.0, 2.1, 1.3, 0.9, 0.6, 0.5, 0.4, 0.3]
)
HOUR_PROFILE_COMMUTER = _normalised(
    [0.4, 0.2, 0.2, 0.2, 0.4, 1.2, 3.8, 7.8, 8.2, 6.0, 5.4, 5.6, 5.9, 5.8, 5.8, 6.3, 7.4, 7.9, 5.6, 3.8, 2.8, 2.0, 1.3, 0.8]
)
HOUR_PROFILE_BY_CATEGORY = np.vstack(
    [
        HOUR_PROFILE_VAN,
        HOUR_PROFILE_TRUCK,
        HOUR_PROFILE_TRUCK,
        HOUR_PROFILE_COMMUTER,
        HOUR_PROFILE_COMMUTER,
        HOUR_PROFILE_VAN,
        HOUR_PROFILE_VAN,
    ]
)

# Fuel mix per category in January 2024 (contract order: DIES BENZ ELEK WATS LPG CNG LNG HYBR OVER ONBK).
FUEL_MIX_BY_CATEGORY = np.array(
    [
        [0.850, 0.040, 0.075, 0.001, 0.005, 0.006, 0.000, 0.010, 0.003, 0.010],  # BEST
        [0.905, 0.002, 0.040, 0.002, 0.000, 0.012, 0.020, 0.004, 0.005, 0.010],  # VRAC
        [0.925, 0.000, 0.020, 0.002, 0.000, 0.006, 0.035, 0.002, 0.000, 0.010],  # TREK
        [0.470, 0.000, 0.440, 0.020, 0.000, 0.050, 0.000, 0.010, 0.000, 0.010],  # BUSS
        [0.130, 0.520, 0.180, 0.001, 0.025, 0.004, 0.000, 0.120, 0.010, 0.010],  # PERS
        [0.600, 0.300, 0.060, 0.000, 0.010, 0.000, 0.000, 0.010, 0.010, 0.010],  # OVER
        [0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000, 1.000],  # ONBK
    ]
)
FUEL_INDEX_ELEK = 2
FUEL_INDEX_WATS = 3
FUEL_INDEX_HYBR = 7
FUEL_INDEX_ONBK = 9
# Relative growth of the electric share per month since January 2024.
ELECTRIC_GROWTH_PER_MONTH = 0.025

# Mean vehicle age in years per category, for the year of first admission.
MEAN_AGE_BY_CATEGORY = np.array([7.0, 6.0, 5.0, 7.0, 9.0, 10.0, 7.0])

# Owner type per category (BEDR LEAS PART ONBK).
OWNER_TYPE_BY_CATEGORY = np.array(
    [
        [0.55, 0.30, 0.14, 0.01],
        [0.74, 0.25, 0.00, 0.01],
        [0.74, 0.25, 0.00, 0.01],
        [0.94, 0.05, 0.00, 0.01],
        [0.17, 0.20, 0.62, 0.01],
        [0.58, 0.05, 0.36, 0.01],
        [0.00, 0.00, 0.00, 1.00],
    ]
)

# SBI section weights for company and lease vehicles (A..U), heavy on F, G, H.
SBI_WEIGHTS = _normalised([2, 0.3, 6, 1, 2, 22, 22, 20, 4, 2, 0.5, 0.7, 5, 6, 1.5, 0.5, 3, 0.6, 3, 0.1, 0.05])
SBI_UNKNOWN_SHARE = 0.02

# Owner region of enrichable vehicles: own municipality, own province, other provinces, abroad, unknown.
OWNER_REGION_SPLIT = np.array([0.36, 0.34, 0.27, 0.015, 0.015])
# Foreign or unreadable plates (category ONBK): abroad versus unknown.
ONBK_REGION_SPLIT = np.array([0.6, 0.4])

# Visit-day classes (D01 D02_04 D05_09 D10_19 D20P): many occasional, few frequent visitors.
VISIT_CLASS_SHARE = np.array([0.55, 0.27, 0.11, 0.05, 0.02])
VISIT_CLASS_BOUNDS = ((1, 1), (2, 4), (5, 9), (10, 19), (20, 31))
EXTRA_PASSAGES_PER_VISIT_DAY = 0.35  # Poisson mean of extra zone entries on a visit day

# Same-camera repeats: share of passages in a cell that are a repeat of a vehicle
# already counted in that cell (hour cells: rare; day-level fuel cells: more).
REPEAT_SHARE_HOURLY = 0.04
REPEAT_SHARE_DAILY = 0.18

MEAN_DAILY_PASSAGES_PER_LOCATION = 2400.0
