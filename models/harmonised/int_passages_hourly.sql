{%- set legacy_columns = [
    'bestelauto',
    'vrachtauto',
    'trekker',
    'bus',
    'personenauto',
    'overig',
    'onbekend',
    'totaal',
] -%}

with

v1_observations as (
    select * from {{ ref('stg_cbs__t01_observations') }}
    where {{ changed_partitions() }}
),

legacy_rows as (
    select * from {{ ref('stg_cbs_legacy__hourly_rows') }}
    where {{ changed_partitions() }}
),

legacy_code_map as (
    select * from {{ ref('ref_legacy_code_map') }}
    where dimension = 'VehicleCategory'
),

v1_cells as (
    select
        delivery_id,
        municipality_code,
        period_code,
        month_start,
        location_code,
        passage_date,
        hour_of_day,
        vehicle_category_code,
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
        'hour_of_day',
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
        legacy_long.hour_of_day,
        legacy_code_map.standard_code as vehicle_category_code,
        {{ legacy_value('legacy_long.legacy_cell') }} as passages,
        -- the legacy '.' also marks the hour that does not exist on the spring DST day: impossible, not secret
        case
            when
                legacy_long.legacy_cell = '.'
                and {{ is_spring_gap('legacy_long.passage_date', 'legacy_long.hour_of_day') }}
                then 'impossible'
            else {{ legacy_cell_status('legacy_long.legacy_cell') }}
        end as cell_status,
        'legacy' as source_layout
    from legacy_long
    inner join legacy_code_map
        on legacy_long.legacy_column = lower(legacy_code_map.legacy_word)
),

unioned as (
    select * from v1_cells
    union all
    select * from legacy_cells
)

select * from unioned
