-- Both layouts in one shape: the staging keys pass through as they are (`* exclude`), the v1 measure and the
-- legacy wide columns become `passages` with their cell status, and the union matches columns by name.
-- A view, not a table: fct_passages_by_fuel is its only reader, so storing its millions of rows only to read them once
-- cost a full extra write on every full build; the fact's filter on changed deliveries reaches the raw table
-- scans through it. Its rows are tested where they are stored, as fct_passages_by_fuel's rows (the same columns).
with

v1_observations as (
    select * from {{ ref('stg_cbs__t02_observations') }}
),

legacy_rows as (
    select * from {{ ref('stg_cbs_legacy__fuel_rows') }}
),

legacy_code_map as (
    select * from {{ ref('ref_legacy_code_map') }}
),

v1_cells as (
    select
        * exclude (line_number, measure_code, cell_value, cell_status),
        cell_value as passages,
        cell_status,
        'v1' as source_layout
    from v1_observations
    where measure_code = 'M_PASSAGES'
),

legacy_cells as (
    select
        legacy_rows.* exclude (line_number, vehicle_category_word, legacy_column, legacy_cell),
        category_map.standard_code as vehicle_category_code,
        fuel_map.standard_code as fuel_type_code,
        {{ legacy_value('legacy_rows.legacy_cell') }} as passages,
        {{ legacy_cell_status('legacy_rows.legacy_cell') }} as cell_status,
        'legacy' as source_layout
    from legacy_rows
    inner join legacy_code_map as category_map
        on
            category_map.dimension = 'VehicleCategory'
            and legacy_rows.vehicle_category_word = category_map.legacy_word
    inner join legacy_code_map as fuel_map
        on
            fuel_map.dimension = 'FuelType'
            and legacy_rows.legacy_column = lower(fuel_map.legacy_word)
),

unioned as (
    select * from v1_cells
    union all by name
    select * from legacy_cells
)

select * from unioned
