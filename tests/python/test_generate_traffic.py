"""The simulation and the v1 writer after their speed-ups: the same random stream, the same rows, the same files.

Why these tests: the generator's output must stay byte-identical while it gets faster (issue 13), so the
fast paths are held to the plain ones they replaced: grouped categorical sampling to row-wise sampling,
the month's three source tables to fingerprints taken with the tree before the speed-ups (main @ 25fec40),
and the writer's unsorted copy to the `Id` order the contract's files have always had.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pytest

from anpr_warehouse import contract as c
from anpr_warehouse.generate import GenerateRequest, generate_delivery, generate_many, largest_first
from anpr_warehouse.generate import profiles as p
from anpr_warehouse.generate.traffic import _sample_grouped, _young_fuel_mix, fuel_mix, simulate_month
from anpr_warehouse.reference import municipality


def _row_wise(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """The plain sampler the generator used before: one CDF row per vehicle, a draw counted against it."""
    cdf = np.cumsum(probs, axis=1)
    draws = rng.random(probs.shape[0])[:, None]
    return np.minimum((draws > cdf).sum(axis=1), probs.shape[1] - 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_sampling_draws_exactly_what_row_wise_sampling_draws(seed):
    """Fuel (per category and age group, with the all-ONBK row) and owner type, on vehicles drawn as a zone's are."""
    rng = np.random.default_rng(seed)
    n = 50_000
    cat = rng.choice(len(c.VEHICLE_CATEGORIES), n, p=p.CATEGORY_SHARE)
    young = rng.random(n) < 0.2
    mix = fuel_mix(2025, 1 + seed)
    old_style = mix[cat].copy()  # how the fuel probabilities were built per vehicle before
    old_style[young, p.FUEL_INDEX_ELEK] *= 3.0
    old_style /= old_style.sum(axis=1, keepdims=True)
    cases = [
        (_young_fuel_mix(mix), 2 * cat + young, old_style),
        (p.OWNER_TYPE_BY_CATEGORY, cat, p.OWNER_TYPE_BY_CATEGORY[cat]),
        (p.OWNER_TYPE_BY_CATEGORY, np.zeros(n, dtype=np.int64), p.OWNER_TYPE_BY_CATEGORY[np.zeros(n, dtype=np.int64)]),
    ]
    for table, group, per_row in cases:
        fast, plain = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
        np.testing.assert_array_equal(_sample_grouped(fast, table, group), _row_wise(plain, per_row))
        assert fast.random() == plain.random()  # the stream is left where the plain sampler left it


# sha256 (first 16 hex digits) of each source table's rows, in order, as DuckDB reads them; taken with main @ 25fec40.
SIMULATION_FINGERPRINTS = {
    (3, 6, 11): {"hourly": "9e1916b4653620a3", "by_fuel": "2c7fde08f3bf020a", "vehicles": "62be2f531a63d2db"},
    (10, 3, 12): {"hourly": "345d1f3fa046ad18", "by_fuel": "164006123b74bfe5", "vehicles": "51ac334ba17d894b"},
}


@pytest.mark.parametrize(("month", "locations", "seed"), list(SIMULATION_FINGERPRINTS))
def test_simulated_month_holds_the_rows_it_held_before_the_speed_ups(month, locations, seed):
    """March (spring clock change) and October (autumn): every row of T01/T02's cells and of the zone population."""
    traffic = simulate_month(municipality("GM0344"), 2025, month, locations, np.random.default_rng(seed))
    con = duckdb.connect()
    found = {}
    for name in ("hourly", "by_fuel", "vehicles"):
        con.register("source", getattr(traffic, name))
        assert {t for (t,) in con.execute("select distinct column_type from (describe source)").fetchall()} <= {
            "VARCHAR",
            "BIGINT",
        }
        found[name] = hashlib.sha256(repr(con.execute("select * from source").fetchall()).encode()).hexdigest()[:16]
    assert found == SIMULATION_FINGERPRINTS[(month, locations, seed)]


def test_written_observations_run_in_id_order_after_the_audit_pass(tmp_path):
    """The writer copies the observation tables unsorted; their stored order must be `Id` 1..n, audited or not."""
    for protection in ("audited", "linked"):
        request = GenerateRequest("GM0344", 2025, 3, seed=5, locations=4, protection=protection)
        folder = generate_delivery(request, tmp_path / protection)
        for table in c.OBSERVATION_TABLES.values():
            ids = [int(line.split(",", 1)[0]) for line in (folder / table.file).read_text().splitlines()[1:]]
            assert ids == list(range(1, len(ids) + 1)), f"{protection} {table.file}: Ids not in order"


def test_generate_many_returns_paths_in_request_order(tmp_path):
    """Months are scheduled largest first over the workers; the paths still come back in the order asked."""
    requests = [GenerateRequest("GM0344", 2025, month, seed=2, locations=2, protection="linked") for month in (2, 3, 4)]
    paths = generate_many(requests, tmp_path, jobs=2)
    assert [path.name for path in paths] == [c.delivery_id("GM0344", 2025, month, 1) for month in (2, 3, 4)]


def test_largest_deliveries_are_handed_out_first_and_february_last():
    """A year on 12 locations, and a 40-location month among them: most location-days first, ties in calendar order."""
    year = [GenerateRequest("GM0344", 2025, month, locations=12) for month in range(1, 13)]
    order = [year[i].month for i in largest_first(year)]
    assert order == [1, 3, 5, 7, 8, 10, 12, 4, 6, 9, 11, 2]
    mixed = [*year[:2], GenerateRequest("GM0344", 2025, 2, locations=40)]
    assert largest_first(mixed) == [2, 0, 1]
