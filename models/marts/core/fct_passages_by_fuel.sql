-- Passages per camera location, date, vehicle category and fuel (CBS table T02), both layouts.
with

cells as (
    select * from {{ ref('int_passages_by_fuel') }}
    where {{ changed_partitions(drift=location_drift(['zone_code'])) }}
),

locations as (
    select * from {{ ref('dim_location') }}
),

categories as (
    select * from {{ ref('ref_vehicle_categories') }}
),

fuels as (
    select * from {{ ref('ref_fuel_types') }}
),

final as (
    select
        {{ surrogate_key([
            'cells.location_code',
            'cells.passage_date',
            'cells.vehicle_category_code',
            'cells.fuel_type_code',
        ]) }}
            as passage_fuel_id,
        cells.delivery_id,
        cells.municipality_code,
        cells.period_code,
        cells.month_start,
        cells.location_code,
        locations.zone_code,
        cells.passage_date,
        cells.vehicle_category_code,
        cells.fuel_type_code,
        cells.vehicle_category_code = 'T001' as is_category_total,
        cells.fuel_type_code = 'T001' as is_fuel_total,
        coalesce(categories.is_logistics, false) as is_logistics,
        coalesce(fuels.is_zero_emission, false) as is_zero_emission_fuel,
        cells.passages,
        cells.cell_status,
        case when cells.cell_status = 'confidential' then 1 else 0 end as confidential_cells,
        cells.source_layout
    from cells
    left join locations
        on cells.location_code = locations.location_code
    left join categories
        on cells.vehicle_category_code = categories.vehicle_category_code
    left join fuels
        on cells.fuel_type_code = fuels.fuel_type_code
)

select * from final
