-- depends_on: {{ ref('dim_location') }}
-- Zero-emission and all-fuel passages per camera location, month and vehicle category: fct_fuel_totals_daily added
-- up over the days of the month, so a month's zero-emission share reads 8 rows per location instead of about 240.
-- `passages` adds the published cells exactly as a sum over the daily or the fuel fact does (null when none is
-- published) and `confidential_cells` counts the unpublished ones inside, so a row with any is a lower bound.
-- Nothing here is a new number: every value is a sum of published cells of fct_passages_by_fuel.
with

days as (
    select * from {{ ref('fct_fuel_totals_daily') }}
    where {{ changed_partitions(drift=location_drift(['zone_code'])) }}
),

months as (
    {{ rollup_cells('days', [
        'delivery_id',
        'municipality_code',
        'period_code',
        'month_start',
        'location_code',
        'zone_code',
        'vehicle_category_code',
        'is_category_total',
        'is_logistics',
        'is_fuel_total',
        'is_zero_emission_fuel',
    ], 'fuel_cells', cells='sum(fuel_cells)') }}
),

final as (
    select
        {{ surrogate_key([
            'months.location_code',
            'months.month_start',
            'months.vehicle_category_code',
            'months.is_fuel_total',
        ]) }}
            as fuel_total_monthly_id,
        months.*
    from months
)

select * from final
