-- Passages per camera location, date, hour and vehicle category (CBS table T01), both layouts.
-- Category totals (T001) are CBS's own published totals, kept as rows with is_category_total.
with

cells as (
    select * from {{ ref('int_passages_hourly') }}
    where {{ changed_partitions(drift=location_drift(['zone_code', 'direction_code'])) }}
),

locations as (
    select * from {{ ref('dim_location') }}
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

final as (
    select
        {{ surrogate_key([
            'cells.location_code',
            'cells.passage_date',
            'cells.hour_of_day',
            'cells.vehicle_category_code',
        ]) }}
            as passage_hourly_id,
        cells.delivery_id,
        cells.municipality_code,
        cells.period_code,
        cells.month_start,
        cells.location_code,
        locations.zone_code,
        locations.direction_code,
        cells.passage_date,
        cells.hour_of_day,
        {{ clock_hours_in_label('cells.passage_date', 'cells.hour_of_day') }} as clock_hours,
        cast(isodow(cells.passage_date) as integer) as day_of_week,
        cells.vehicle_category_code,
        cells.vehicle_category_code = 'T001' as is_category_total,
        coalesce(categories.is_logistics, false) as is_logistics,
        cells.passages,
        cells.cell_status,
        case when cells.cell_status = 'confidential' then 1 else 0 end as confidential_cells,
        cells.source_layout
    from cells
    left join locations
        on cells.location_code = locations.location_code
    left join categories
        on cells.vehicle_category_code = categories.vehicle_category_code
)

select * from final
