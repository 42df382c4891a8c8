{%- set legacy_columns = [
    'diesel',
    'benzine',
    'elektrisch',
    'waterstof',
    'lpg',
    'cng',
    'lng',
    'hybride',
    'overig',
    'onbekend',
    'totaal',
] -%}

with

v1_observations as (
    select * from {{ ref('stg_cbs__t02_observations') }}
    where {{ changed_partitions() }}
),

legacy_rows as (
    select * from {{ ref('stg_cbs_legacy__fuel_rows') }}
    where {{ changed_partitions() }}
),

legacy_code_map as (
    select * from {{ ref('ref_legacy_code_map') }}
),

v1_cells as (
    select
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        location_code,
        passage_date,
        vehicle_category_code,
        fuel_type_code,
        cell_value as passages,
        cell_status,
        'v1' as source_layout
    from v1_observations
    where measure_code = 'M_PASSAGES'
),

legacy_long as (
    {{ unpivot_legacy_columns('legacy_rows', [
        'delivery_id',
        'municipality_code',
        'period_code',
        'month_start',
        'location_code',
        'passage_date',
        'vehicle_category_word',
    ], legacy_columns) }}
),

legacy_cells as (
    select
        legacy_long.delivery_id,
        legacy_long.municipality_code,
        legacy_long.period_code,
        legacy_long.month_start,
        legacy_long.location_code,
        legacy_long.passage_date,
        category_map.standard_code as vehicle_category_code,
        fuel_map.standard_code as fuel_type_code,
        {{ legacy_value('legacy_long.legacy_cell') }} as passages,
        {{ legacy_cell_status('legacy_long.legacy_cell') }} as cell_status,
        'legacy' as source_layout
    from legacy_long
    inner join legacy_code_map as category_map
        on
            category_map.dimension = 'VehicleCategory'
            and legacy_long.vehicle_category_word = category_map.legacy_word
    inner join legacy_code_map as fuel_map
        on
            fuel_map.dimension = 'FuelType'
            and legacy_long.legacy_column = lower(fuel_map.legacy_word)
),

unioned as (
    select * from v1_cells
    union all
    select * from legacy_cells
)

select * from unioned
