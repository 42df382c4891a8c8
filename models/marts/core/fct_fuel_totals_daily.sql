-- depends_on: {{ ref('dim_location') }}
-- Zero-emission and all-fuel passages per camera location, date and vehicle category (CBS T02), summed.
-- The zero-emission metrics and shares (numerator, denominator and their confidential cells) otherwise read the fuel
-- fact's 88 cells per location and day (8 categories x 11 fuels), four times over; here a location-day is 8 rows:
-- CBS's category total and the three logistics categories, each once for CBS's total over fuels (T001) and once for
-- electric and hydrogen together. `passages` adds the published cells exactly as a sum over the fuel fact does
-- (null when none is published) and `confidential_cells` counts the unpublished ones inside, so a row with any is
-- a lower bound. Nothing here is a new number: every value is a sum of published cells of fct_passages_by_fuel.
with

cells as (
    select * from {{ ref('fct_passages_by_fuel') }}
    where {{ changed_partitions(drift=location_drift(['zone_code'])) }}
),

wanted as (
    select * from cells
    where
        (is_category_total or is_logistics)
        and (is_fuel_total or is_zero_emission_fuel)
),

days as (
    {{ rollup_cells('wanted', [
        'delivery_id',
        'municipality_code',
        'period_code',
        'month_start',
        'location_code',
        'zone_code',
        'passage_date',
        'vehicle_category_code',
        'is_category_total',
        'is_logistics',
        'is_fuel_total',
        'is_zero_emission_fuel',
    ], 'fuel_cells') }}
),

final as (
    select
        {{ surrogate_key([
            'days.location_code',
            'days.passage_date',
            'days.vehicle_category_code',
            'days.is_fuel_total',
        ]) }}
            as fuel_total_daily_id,
        days.*
    from days
)

select * from final
