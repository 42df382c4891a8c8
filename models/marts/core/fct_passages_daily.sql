-- depends_on: {{ ref('dim_location') }}
-- Passages per camera location, date and vehicle category: CBS table T01 added up over the hours of the day.
-- Month and day questions read this fact instead of the hourly cells (24x fewer rows). T01 has no day totals,
-- and T02's location-day totals are other published numbers (suppressed and rounded on their own), so the day is
-- summed from T01's own hours: `passages` skips unpublished hours exactly as a sum over the hourly fact does, and
-- `confidential_cells` counts the suppressed hours inside it, so a day with any is a lower bound, never complete.
with

hours as (
    select * from {{ ref('fct_passages_hourly') }}
    where {{ changed_partitions(drift=location_drift(['zone_code', 'direction_code'])) }}
),

days as (
    {{ rollup_cells('hours', [
        'delivery_id',
        'municipality_code',
        'period_code',
        'month_start',
        'location_code',
        'zone_code',
        'direction_code',
        'passage_date',
        'day_of_week',
        'vehicle_category_code',
        'is_category_total',
        'is_logistics',
    ], 'hour_cells') }}
),

final as (
    select
        {{ surrogate_key([
            'days.location_code',
            'days.passage_date',
            'days.vehicle_category_code',
        ]) }}
            as passage_daily_id,
        days.*
    from days
)

select * from final
