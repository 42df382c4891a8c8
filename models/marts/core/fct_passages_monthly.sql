-- depends_on: {{ ref('dim_location') }}
-- Passages per camera location, month and vehicle category: fct_passages_daily added up over the days of the month.
-- Month questions (the vendor API's ad-hoc queries, the standard month questions) read this fact instead of the
-- days (about 30x fewer rows). It adds exactly as a sum over the daily or hourly fact does: `passages` skips
-- unpublished hours and `confidential_cells` counts the confidential hours inside, so a month with any is a lower
-- bound. Nothing here is a new number: every value is a sum of published T01 cells. Unique vehicles are not here:
-- they are not additive over months or zones and are never rolled up.
with

days as (
    select * from {{ ref('fct_passages_daily') }}
    where {{ changed_partitions(drift=location_drift(['zone_code', 'direction_code'])) }}
),

months as (
    {{ rollup_cells('days', [
        'delivery_id',
        'municipality_code',
        'period_code',
        'month_start',
        'location_code',
        'zone_code',
        'direction_code',
        'vehicle_category_code',
        'is_category_total',
        'is_logistics',
    ], 'hour_cells', cells='sum(hour_cells)') }}
),

final as (
    select
        {{ surrogate_key([
            'months.location_code',
            'months.month_start',
            'months.vehicle_category_code',
        ]) }}
            as passage_monthly_id,
        months.*
    from months
)

select * from final
